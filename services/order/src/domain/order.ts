import { CHANNEL_IDS, PROVIDER_IDS, type ChannelId, type ProviderId } from "@tributary/contracts";
import type { Money } from "@tributary/money";

/**
 * Every status an order can be in once it exists. "placed" is not among them: a placed order is
 * the `place_order` command itself, which {@link decide} turns into `accepted` or refuses.
 */
export const ORDER_STATUSES = [
  "accepted",
  "paid",
  "payment_failed",
  "cancelled",
  "partially_refunded",
  "refunded",
] as const;

/** Lifecycle state of a stored order (the proto `OrderStatus` without UNSPECIFIED). */
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Where the buyer checks out; routing rules and providers differ per channel. */
export const CHANNELS = CHANNEL_IDS;

/** One of {@link CHANNELS}: the contracts' channel ids. */
export type Channel = ChannelId;

/**
 * The rails a buyer may prefer; routing may still choose another. They are the contracts' one
 * provider set, which the `payment_provider` database enum spells the same way.
 */
export const PAYMENT_PROVIDERS = PROVIDER_IDS;

/** One of {@link PAYMENT_PROVIDERS}. */
export type PaymentProvider = ProviderId;

/** One validated line of an order: what was bought and at what unit price. */
export interface OrderLine {
  readonly sku: string;
  readonly category: string;
  readonly quantity: bigint;
  readonly unitPrice: Money;
}

/**
 * The buyer's own account at one provider (a WeChat openid, an Alipay user id), which products that
 * charge a known wallet need: WeChat Pay JSAPI, Alipay's mini-program payment.
 */
export interface ProviderAccount {
  readonly provider: PaymentProvider;
  readonly accountId: string;
}

/**
 * The buyer as the upstream system knows them; `country` is ISO 3166-1 alpha-2 when given.
 * `providerAccounts` holds at most one account per provider, in the contracts' provider order.
 */
export interface Buyer {
  readonly buyerId: string;
  readonly country: string | undefined;
  readonly providerAccounts: readonly ProviderAccount[];
}

/**
 * The content of an order as the upstream system sent it, after validation. Two creates with
 * the same merchant and reference are the same order exactly when their drafts are equal.
 */
export interface OrderDraft {
  readonly merchantId: string;
  readonly merchantOrderRef: string;
  readonly buyer: Buyer;
  readonly lines: readonly OrderLine[];
  readonly total: Money;
  readonly channel: Channel;
  readonly preferredProvider: PaymentProvider | undefined;
}

/** Where a requested refund stands at the provider. */
export type RefundStatus = "requested" | "completed" | "failed";

/** One refund asked for by the merchant, keyed by its idempotency reference. */
export interface Refund {
  readonly refundRef: string;
  readonly amount: Money;
  readonly reason: string;
  readonly status: RefundStatus;
  readonly requestedAt: Date;
}

/** Why a captured payment has no order to own it (the proto `UnownedCaptureReason`). */
export const UNOWNED_CAPTURE_REASONS = [
  "order_cancelled",
  "order_payment_failed",
  "already_paid_by_other_payment",
  "order_unknown",
] as const;

/** One of {@link UNOWNED_CAPTURE_REASONS}. */
export type UnownedCaptureReason = (typeof UNOWNED_CAPTURE_REASONS)[number];

/**
 * Where the refund of an unowned capture stands, as payment-routing reported it: `requested`
 * until its `PaymentRefunded` (→ `refunded`) or `RefundFailed` (→ `refund_failed`) arrives. A
 * failed one stays visible for operators and may still turn `refunded` if a later attempt succeeds.
 */
export const CAPTURE_REFUND_STATUSES = ["requested", "refunded", "refund_failed"] as const;

/** One of {@link CAPTURE_REFUND_STATUSES}. */
export type CaptureRefundStatus = (typeof CAPTURE_REFUND_STATUSES)[number];

/**
 * Money a provider captured for an order that does not take it (cancelled, closed unpaid, paid by
 * another payment, or not an order at all). It never counts towards `paid`; it is recorded once
 * per payment id and its full amount is refunded under `refundRef`, so it is never stranded.
 */
export interface UnownedCapture {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly provider: PaymentProvider;
  /** The provider's transaction id of the capture, when the capture carried one. */
  readonly providerTransactionId: string | undefined;
  readonly amount: Money;
  readonly reason: UnownedCaptureReason;
  /** Derived from the payment id alone ({@link captureRefundRef}), so every retry names one refund. */
  readonly refundRef: string;
  /** What the order saw, in words for operators. */
  readonly description: string;
  /** Whether payment-routing has reported the refund done or failed yet. */
  readonly refundStatus: CaptureRefundStatus;
  /** Payment-routing's reason code (and the provider's words) of the last failed refund attempt. */
  readonly refundFailedReason: string | undefined;
}

/** An unowned capture where it is recorded: under the order id the capture named (which may name no order). */
export interface RecordedUnownedCapture {
  readonly orderId: string;
  readonly capture: UnownedCapture;
}

/**
 * The prefix of every {@link captureRefundRef}. A merchant's own refund may not use it (see
 * `validateRefund`), so a refund outcome's `refund_ref` alone says whose refund it is.
 */
export const CAPTURE_REFUND_REF_PREFIX = "capture-refund:";

/**
 * The refund reference of an unowned capture: a function of the payment id alone, so the request
 * is the same however often the capture is delivered or re-sent, and payment-routing's refund
 * (idempotent per refund reference) happens at most once.
 */
export function captureRefundRef(paymentId: string): string {
  return `${CAPTURE_REFUND_REF_PREFIX}${paymentId}`;
}

/** Whether a refund outcome is about the refund of an unowned capture rather than a merchant's refund. */
export function isCaptureRefundRef(refundRef: string): boolean {
  return refundRef.startsWith(CAPTURE_REFUND_REF_PREFIX) && refundRef.length > CAPTURE_REFUND_REF_PREFIX.length;
}

/**
 * An order as the service stores it. `paid` and `refunded` are in the order's currency;
 * `refunded` counts refunds requested and completed (not failed), so the next refund can never
 * exceed `paid - refunded`.
 */
export interface Order extends OrderDraft {
  readonly orderId: string;
  readonly status: OrderStatus;
  readonly paid: Money;
  readonly refunded: Money;
  readonly paymentId: string | undefined;
  readonly paymentFailureReason: string | undefined;
  readonly cancelReason: string | undefined;
  readonly refunds: readonly Refund[];
  /** Captures this order did not take, each handed to payment-routing for a refund. */
  readonly unownedCaptures: readonly UnownedCapture[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The state before an order exists: the only state in which `place_order` is allowed. */
export interface NoOrder {
  readonly status: "none";
}

/** The state `decide` and `evolve` work on: nothing yet, or a stored order. */
export type OrderState = NoOrder | Order;

/** The initial state, for `decide(noOrder, placeOrder)` and for tests. */
export const noOrder: NoOrder = Object.freeze({ status: "none" });
