import { isCurrencyCode, money, parseDecimalScaled, type Money } from "@tributary/money";
import { assertNever, err, ok, type Result } from "@tributary/result";
import type {
  PaymentStatusReport,
  ProviderCallError,
  ProviderPaymentStatus,
  ProviderRefundStatus,
  RefundStatusReport,
} from "../provider-adapter.js";

/**
 * The payment and refund statuses of the generic HMAC JSON API that JD Pay and e-CNY speak
 * (services/provider-sandbox/README.md, "JD Pay and e-CNY: our own JSON API"), each mapped on its
 * own line. A status not listed is `unknown_provider_status`, never pending or success.
 */
export const HMAC_PAYMENT_STATUSES = {
  PENDING: "pending",
  SUCCEEDED: "captured",
  PARTIALLY_REFUNDED: "partially_refunded",
  REFUNDED: "refunded",
  CLOSED: "closed",
} as const satisfies Record<string, ProviderPaymentStatus>;

/** Refund statuses of the same API (a refund there either completes or is still processing). */
export const HMAC_REFUND_STATUSES = {
  PROCESSING: "processing",
  SUCCEEDED: "succeeded",
} as const satisfies Record<string, ProviderRefundStatus>;

/** A JSON object as it came off the wire, before any field is trusted. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** Parses text that must hold one JSON object; anything else is `undefined`. */
export function parseJsonObject(text: string): JsonObject | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

function text(body: JsonObject, key: string): string | undefined {
  const value = body[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function integrity(field: string, message: string): ProviderCallError {
  return { code: "integrity_mismatch", field, message, retryable: false };
}

/**
 * Reads `amountMinor` (a string of integer fen: digits only) and `currency` (ISO 4217) of an
 * answer. Either one missing or unreadable fails: the check never passes by absence.
 */
export function hmacAmount(body: JsonObject, amountField = "amountMinor"): Result<Money, ProviderCallError> {
  const amountText = text(body, amountField);
  const currencyText = text(body, "currency");
  if (amountText === undefined) return err(integrity(amountField, `the answer carries no ${amountField} string`));
  if (currencyText === undefined) return err(integrity("currency", "the answer carries no currency"));
  if (!/^[0-9]{1,19}$/.test(amountText)) return err(integrity(amountField, `${amountField} is not an integer of minor units: ${JSON.stringify(amountText)}`));
  if (!isCurrencyCode(currencyText)) return err(integrity("currency", `unknown currency ${JSON.stringify(currencyText)}`));
  const amountMinor = parseDecimalScaled(amountText, 0);
  if (!amountMinor.ok) return err(integrity(amountField, `${amountField} out of range: ${amountText}`));
  return ok(money(amountMinor.value, currencyText));
}

/** Checks an answer's amount and currency against the request; a missing field fails. */
export function checkHmacAmount(body: JsonObject, expected: Money): Result<Money, ProviderCallError> {
  const actual = hmacAmount(body);
  if (!actual.ok) return actual;
  if (actual.value.currency !== expected.currency) return err(integrity("currency", `answered in ${actual.value.currency}, we asked for ${expected.currency}`));
  if (actual.value.amountMinor !== expected.amountMinor) {
    return err(integrity("amountMinor", `answered ${actual.value.amountMinor} minor units, we asked for ${expected.amountMinor}`));
  }
  return ok(actual.value);
}

/** Checks that a field of the answer holds exactly what we sent; a missing one fails. */
export function checkHmacField(body: JsonObject, field: string, expected: string): Result<void, ProviderCallError> {
  const actual = text(body, field);
  if (actual === undefined) return err(integrity(field, `the answer carries no ${field}`));
  return actual === expected ? ok(undefined) : err(integrity(field, `the answer is about ${field} ${actual}, we asked about ${expected}`));
}

function unknownStatus(kind: string, status: string): ProviderCallError {
  return { code: "unknown_provider_status", providerStatus: status, message: `${kind} status ${JSON.stringify(status)} is not in our table: review it`, retryable: false };
}

/** Our payment status for the API's, or `unknown_provider_status`. */
export function hmacPaymentStatus(status: string): Result<ProviderPaymentStatus, ProviderCallError> {
  return Object.hasOwn(HMAC_PAYMENT_STATUSES, status) ? ok(HMAC_PAYMENT_STATUSES[status as keyof typeof HMAC_PAYMENT_STATUSES]) : err(unknownStatus("payment", status));
}

/** Our refund status for the API's, or `unknown_provider_status`. */
export function hmacRefundStatus(status: string): Result<ProviderRefundStatus, ProviderCallError> {
  return Object.hasOwn(HMAC_REFUND_STATUSES, status) ? ok(HMAC_REFUND_STATUSES[status as keyof typeof HMAC_REFUND_STATUSES]) : err(unknownStatus("refund", status));
}

function parseTime(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/**
 * A payment view (`{merchantId, outTradeNo, providerTradeNo, status, amountMinor, currency, …}`)
 * as our report: merchant, order number, amount and currency must be the ones we expect.
 */
export function hmacPaymentReport(body: JsonObject, merchantId: string, paymentId: string, expected: Money): Result<PaymentStatusReport, ProviderCallError> {
  const merchant = checkHmacField(body, "merchantId", merchantId);
  if (!merchant.ok) return merchant;
  const order = checkHmacField(body, "outTradeNo", paymentId);
  if (!order.ok) return order;
  const statusText = text(body, "status");
  if (statusText === undefined) return err(integrity("status", "the answer carries no status"));
  const status = hmacPaymentStatus(statusText);
  if (!status.ok) return status;
  const amount = checkHmacAmount(body, expected);
  if (!amount.ok) return amount;
  const providerTradeNo = text(body, "providerTradeNo");
  const paidAt = parseTime(text(body, "paidAt"));
  return ok({
    paymentId,
    status: status.value,
    amount: amount.value,
    providerStatus: statusText,
    ...(providerTradeNo === undefined ? {} : { providerTransactionId: providerTradeNo }),
    ...(paidAt === undefined ? {} : { paidAt }),
  });
}

/** A refund view as our report, checked against the refund we asked for. */
export function hmacRefundReport(body: JsonObject, merchantId: string, paymentId: string, refundRef: string, expected: Money): Result<RefundStatusReport, ProviderCallError> {
  const merchant = checkHmacField(body, "merchantId", merchantId);
  if (!merchant.ok) return merchant;
  const order = checkHmacField(body, "outTradeNo", paymentId);
  if (!order.ok) return order;
  const refund = checkHmacField(body, "outRefundNo", refundRef);
  if (!refund.ok) return refund;
  const statusText = text(body, "status");
  if (statusText === undefined) return err(integrity("status", "the answer carries no status"));
  const status = hmacRefundStatus(statusText);
  if (!status.ok) return status;
  const amount = checkHmacAmount(body, expected);
  if (!amount.ok) return amount;
  const providerRefundNo = text(body, "providerRefundNo");
  return ok({
    refundRef,
    status: status.value,
    amount: amount.value,
    providerStatus: statusText,
    ...(providerRefundNo === undefined ? {} : { providerRefundId: providerRefundNo }),
  });
}

/** What one error code of the API means for the caller. */
type ErrorMeaning = "rejected" | "not_found" | "conflict";

/**
 * The API's error codes (`{"error":{"code","message"}}`), each listed. `conflict` codes say an
 * earlier request with our idempotency key exists with other parameters: nothing new was created,
 * so they are refusals the caller must not blindly retry.
 */
const HMAC_ERROR_CODES: Readonly<Record<string, ErrorMeaning>> = {
  INVALID_REQUEST: "rejected",
  INVALID_MERCHANT: "rejected",
  INVALID_TIMESTAMP: "rejected",
  INVALID_SIGNATURE: "rejected",
  NOT_FOUND: "not_found",
  OUT_TRADE_NO_CONFLICT: "conflict",
  OUT_REFUND_NO_CONFLICT: "conflict",
  ALREADY_PAID: "rejected",
  PAYMENT_NOT_REFUNDABLE: "rejected",
  REFUND_EXCEEDS_AMOUNT: "rejected",
};

/**
 * Turns a signed 4xx error answer into our error. An error code not in the table goes to review
 * (`unknown_provider_status`); 5xx never reaches here (it is `outcome_unknown` before the body is
 * read, since the provider may have acted).
 */
export function hmacErrorAnswer(status: number, body: JsonObject | undefined): ProviderCallError {
  const error = body?.["error"];
  const code = typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined;
  const message = typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" ? error.message : "";
  if (code === undefined) return { code: "unknown_provider_status", providerStatus: `HTTP ${status}`, message: `HTTP ${status} without an error code`, retryable: false };
  const meaning = Object.hasOwn(HMAC_ERROR_CODES, code) ? HMAC_ERROR_CODES[code] : undefined;
  if (meaning === undefined) return { code: "unknown_provider_status", providerStatus: code, message: `error code ${code} (HTTP ${status}) is not in our table: ${message}`, retryable: false };
  switch (meaning) {
    case "rejected":
    case "conflict":
      return { code: "rejected", providerCode: code, message: `${code}: ${message}`, buyerSide: false, retryable: false };
    case "not_found":
      return { code: "not_found", message: `${code}: ${message}`, retryable: false };
    default:
      return assertNever(meaning, "error meaning");
  }
}
