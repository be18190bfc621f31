import { INT64_MAX, isCurrencyCode, money, type Money } from "@tributary/money";
import { err, ok, type Result } from "@tributary/result";
import { CAPTURE_REFUND_REF_PREFIX } from "./order.js";
import type { FieldViolation, InvalidRequestError } from "./order-error.js";
import type { MoneyInput } from "./place-order-input.js";
import { MAX_REF_LENGTH } from "./validate-place-order.js";

/** A refund request as it arrives, before validation. */
export interface RefundInput {
  readonly orderId: string;
  readonly refundRef: string;
  readonly amount: MoneyInput | undefined;
  readonly reason: string;
}

/** A refund request whose shape is right; whether the order allows it is `decide`'s call. */
export interface ValidRefund {
  readonly orderId: string;
  readonly refundRef: string;
  readonly amount: Money;
  readonly reason: string;
}

/**
 * Checks the shape of a refund request: an order id, a refund reference (not one of the reserved
 * capture-refund references) and a positive amount.
 */
export function validateRefund(input: RefundInput): Result<ValidRefund, InvalidRequestError> {
  const violations: FieldViolation[] = [];
  if (input.orderId === "") violations.push({ field: "order_id", description: "is required" });
  if (input.refundRef.trim() === "") violations.push({ field: "refund_ref", description: "is required" });
  else if (input.refundRef.length > MAX_REF_LENGTH) {
    violations.push({ field: "refund_ref", description: `must be at most ${MAX_REF_LENGTH} characters` });
  } else if (input.refundRef.startsWith(CAPTURE_REFUND_REF_PREFIX)) {
    // Reserved: payment-routing's reply names a capture refund by this prefix alone.
    violations.push({
      field: "refund_ref",
      description: `must not start with "${CAPTURE_REFUND_REF_PREFIX}", which names the refund of a capture no order owns`,
    });
  }
  if (input.reason.length > 256) violations.push({ field: "reason", description: "must be at most 256 characters" });
  const amount = input.amount;
  if (amount === undefined) {
    violations.push({ field: "amount", description: "is required" });
  } else {
    if (!isCurrencyCode(amount.currency)) {
      violations.push({ field: "amount.currency", description: `unknown currency ${JSON.stringify(amount.currency)}` });
    }
    if (amount.amountMinor <= 0n) violations.push({ field: "amount.amount_minor", description: "must be positive" });
    else if (amount.amountMinor > INT64_MAX) {
      violations.push({ field: "amount.amount_minor", description: "must fit a signed 64-bit integer" });
    }
  }
  if (violations.length > 0 || amount === undefined || !isCurrencyCode(amount.currency)) {
    return err({
      code: "invalid_request",
      message: `the refund request is invalid: ${violations.map((v) => `${v.field} ${v.description}`).join("; ")}`,
      fieldViolations: violations,
    });
  }
  return ok({
    orderId: input.orderId,
    refundRef: input.refundRef,
    amount: money(amount.amountMinor, amount.currency),
    reason: input.reason,
  });
}
