import type { ProviderId } from "@tributary/contracts";
import type { Money } from "@tributary/money";
import type { Result } from "@tributary/result";

/**
 * What payment routing asks of every provider, whatever its wire protocol. Each provider
 * implements it in `providers/<provider>/client.ts` (URLs, headers, signing, HTTP) and
 * `providers/<provider>/transformers.ts` (the provider's own types and their mapping to these),
 * as Hyperswitch's connectors do; `conformance.ts` is the one suite every adapter passes against
 * the provider sandbox.
 *
 * Rules every adapter keeps (STYLE.md, DESIGN.md):
 * - Every provider status maps explicitly; one the adapter does not know becomes
 *   `unknown_provider_status` (for review), never pending or success.
 * - Amount and currency in every provider answer are checked against the request; a missing
 *   field fails the check (`integrity_mismatch`), it never passes by absence.
 * - An outcome the adapter cannot be sure of (timeout, 5xx, connection reset after sending) is
 *   `outcome_unknown`: the caller must query before failing over, never risk charging twice.
 *   `rejected` means the provider certainly created nothing.
 * - Every call carries our idempotency key: `paymentId` is the provider's merchant order number
 *   (out_trade_no / orderId), `refundRef` its refund request number.
 */
export interface ProviderAdapter {
  readonly provider: ProviderId;
  createPayment(request: CreatePaymentRequest): Promise<Result<CreatedPayment, ProviderCallError>>;
  queryPayment(paymentId: string, expected: Money): Promise<Result<PaymentStatusReport, ProviderCallError>>;
  closePayment(paymentId: string): Promise<Result<void, ProviderCallError>>;
  refund(request: RefundRequest): Promise<Result<RefundStatusReport, ProviderCallError>>;
  queryRefund(request: RefundRequest): Promise<Result<RefundStatusReport, ProviderCallError>>;
  /**
   * Verifies and decodes one asynchronous notification exactly as it arrived (raw body bytes and
   * headers; for form posts the raw urlencoded body). Verification uses the key we hold for the
   * provider, never one the message carries. Replay and dedupe are the webhook layer's job; this
   * returns the notification id (or nonce) it must remember.
   */
  verifyNotification(notification: RawNotification): Result<VerifiedNotification, NotificationError>;
  /** What the provider expects back once a notification was accepted (or refused). */
  acknowledgement(accepted: boolean): NotificationAcknowledgement;
}

/** How the buyer pays, which decides the provider's product (QR, app SDK params, JSAPI). */
export type PaymentChannel = "app" | "web" | "mini_program";

export interface CreatePaymentRequest {
  /** Our payment id, sent as the provider's merchant order number: the idempotency key. */
  readonly paymentId: string;
  readonly orderId: string;
  readonly merchantId: string;
  readonly amount: Money;
  readonly channel: PaymentChannel;
  /** Shown to the buyer in the wallet. */
  readonly description: string;
  /** Where the provider sends its asynchronous notifications. */
  readonly notifyUrl: string;
  /** The buyer's id at the provider where the product needs one (WeChat JSAPI openid). */
  readonly providerBuyerId?: string;
  /** When the provider should stop accepting payment. */
  readonly expiresAt: Date;
}

/** What the checkout needs to let the buyer pay. */
export type BuyerAction =
  | { readonly kind: "qr_code"; readonly url: string }
  | { readonly kind: "app_params"; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: "redirect"; readonly url: string };

export interface CreatedPayment {
  readonly paymentId: string;
  readonly buyerAction: BuyerAction;
  /** The provider's own id, when it assigns one at creation. */
  readonly providerPaymentRef?: string;
}

/** Our view of a provider-side payment. */
export type ProviderPaymentStatus = "pending" | "captured" | "failed" | "closed" | "refunded" | "partially_refunded";

export interface PaymentStatusReport {
  readonly paymentId: string;
  readonly status: ProviderPaymentStatus;
  /** The provider's transaction id, once it has one (set when captured). */
  readonly providerTransactionId?: string;
  /** What the provider says was paid; checked against the request by the adapter. */
  readonly amount?: Money;
  readonly paidAt?: Date;
  /** The provider's own status text, kept for audit. */
  readonly providerStatus: string;
}

export interface RefundRequest {
  readonly paymentId: string;
  /** Our refund reference, the provider's refund request number: the idempotency key. */
  readonly refundRef: string;
  readonly amount: Money;
  /** The payment's captured amount (several providers need it). */
  readonly paymentAmount: Money;
  readonly reason: string;
  /**
   * Where the provider sends the refund's own notification, for providers that take one per
   * refund (WeChat `notify_url`); others notify the payment's `notifyUrl`. Added with the Alipay
   * and WeChat adapters: without it WeChat never calls back about a refund.
   */
  readonly notifyUrl?: string;
}

export type ProviderRefundStatus = "processing" | "succeeded" | "failed";

export interface RefundStatusReport {
  readonly refundRef: string;
  readonly status: ProviderRefundStatus;
  readonly amount?: Money;
  readonly providerRefundId?: string;
  /**
   * What the provider says was refunded on the payment so far, all refunds together, where it
   * says that instead of (or besides) this refund's own amount. Alipay's refund answer and its
   * refund notifications carry only this cumulative `refund_fee`; a notification whose `amount`
   * is absent has not proven this refund's amount, and the caller queries the refund.
   */
  readonly refundedTotal?: Money;
  readonly providerStatus: string;
}

/**
 * Why a provider call did not give a usable answer. `retryable` is decided where the error is
 * made (Temporal's rule): the caller does not guess from the code.
 */
export type ProviderCallError =
  /** The provider certainly created / changed nothing: a business refusal or a bad request. */
  | { readonly code: "rejected"; readonly providerCode: string; readonly message: string; readonly buyerSide: boolean; readonly retryable: false }
  /** Sent, but whether it took effect is unknown (timeout, 5xx, reset): query before anything else. */
  | { readonly code: "outcome_unknown"; readonly message: string; readonly retryable: true }
  /** Not sent (connection refused, DNS): nothing happened at the provider. */
  | { readonly code: "unreachable"; readonly message: string; readonly retryable: true }
  /** The answer's signature did not verify with the key we hold. */
  | { readonly code: "bad_response_signature"; readonly message: string; readonly retryable: false }
  /** The answer's amount, currency or id differs from the request, or a field is missing. */
  | { readonly code: "integrity_mismatch"; readonly field: string; readonly message: string; readonly retryable: false }
  /** A status the adapter does not know: goes to review, never guessed. */
  | { readonly code: "unknown_provider_status"; readonly providerStatus: string; readonly message: string; readonly retryable: false }
  /** The provider does not know this payment / refund. */
  | { readonly code: "not_found"; readonly message: string; readonly retryable: false };

/** A notification exactly as received. */
export interface RawNotification {
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export type VerifiedNotification =
  | {
      readonly kind: "payment";
      /** The id the webhook layer dedupes and replay-checks on. */
      readonly notificationId: string;
      /** When the provider says it sent it (for the replay window), if it says. */
      readonly sentAt?: Date;
      readonly report: PaymentStatusReport;
    }
  | {
      readonly kind: "refund";
      readonly notificationId: string;
      readonly sentAt?: Date;
      readonly report: RefundStatusReport & { readonly paymentId: string };
    };

export type NotificationError =
  | { readonly code: "bad_signature"; readonly message: string }
  | { readonly code: "malformed"; readonly message: string }
  | { readonly code: "decrypt_failed"; readonly message: string }
  | { readonly code: "unknown_provider_status"; readonly providerStatus: string; readonly message: string };

export interface NotificationAcknowledgement {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * The one rule for a request that got no HTTP answer, shared by every adapter so it is decided
 * in one place: a connection that was never made (refused, no route, DNS failure, connect timeout)
 * sent nothing, so it is `unreachable`; anything after the connection was made (our timeout while
 * waiting, a reset, the peer closing the socket) may have been processed, so it is
 * `outcome_unknown`. An error this does not recognise is `outcome_unknown` too: the safe side is
 * "query before retrying elsewhere", never "nothing happened".
 */
export function transportFailure(error: unknown): ProviderCallError {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return { code: "outcome_unknown", message: `no answer in time (${error.message})`, retryable: true };
  }
  const cause: unknown = error instanceof Error ? error.cause : undefined;
  const codes = errorCodes(cause);
  if (codes.length > 0 && codes.every((code) => NOT_SENT_CODES.has(code))) {
    return { code: "unreachable", message: `not connected (${codes.join(", ")})`, retryable: true };
  }
  const detail = codes.length > 0 ? codes.join(", ") : error instanceof Error ? error.message : String(error);
  return { code: "outcome_unknown", message: `request failed after it may have been sent (${detail})`, retryable: true };
}

/** Error codes (node:net, undici) that mean no connection was ever established. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** The `code`s of an error, or of each error of an AggregateError (Happy Eyeballs tries several addresses). */
function errorCodes(cause: unknown): string[] {
  if (cause instanceof AggregateError) return cause.errors.flatMap((inner: unknown) => errorCodes(inner));
  if (typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string") return [cause.code];
  return [];
}
