import { feeFor, money, refundFee, type FeeSchedule } from "@tributary/money";
import { err, ok, type Result } from "@tributary/result";
import type { PaymentRecord, RefundRecord } from "./store.js";
import { refundedMinor } from "./store.js";

/**
 * The provider-independent state changes of a payment. Provider APIs and the buyer simulator
 * call these so that fees and booking times are computed one way for every provider.
 */

/** Marks a pending payment paid at `atMs`, charging the provider's fee on it. */
export function markPaid(
  payment: PaymentRecord,
  atMs: number,
  schedule: FeeSchedule,
  buyer: { buyerId: string; bankType: string },
): void {
  if (payment.status !== "pending") {
    throw new Error(`markPaid: payment ${payment.outTradeNo} is ${payment.status}`);
  }
  payment.status = "paid";
  payment.paidAtMs = atMs;
  payment.bookedAtMs = atMs;
  payment.buyerId = buyer.buyerId;
  payment.bankType = buyer.bankType;
  payment.feeMinor = feeFor(money(payment.amountMinor, payment.currency), schedule).amountMinor;
}

/** Closes an unpaid payment at `atMs`. */
export function markClosed(payment: PaymentRecord, atMs: number): void {
  if (payment.status !== "pending") {
    throw new Error(`markClosed: payment ${payment.outTradeNo} is ${payment.status}`);
  }
  payment.status = "closed";
  payment.closedAtMs = atMs;
}

/** Why a refund cannot be taken; each provider maps it to its own error shape. */
export type RefundRefusal = { readonly code: "not_paid" } | { readonly code: "exceeds_refundable" } | { readonly code: "invalid_amount" };

/**
 * Records a refund accepted at `atMs` and returns it, or says why it cannot be taken. The fee
 * given back is proportional, cumulative over earlier refunds, so a full refund returns exactly
 * the original fee.
 */
export function acceptRefund(
  payment: PaymentRecord,
  request: {
    outRefundNo: string;
    providerRefundNo: string;
    amountMinor: bigint;
    reason: string | undefined;
    notifyUrl: string | undefined;
  },
  atMs: number,
  schedule: FeeSchedule,
): Result<RefundRecord, RefundRefusal> {
  if (payment.status !== "paid" || payment.feeMinor === undefined) return err({ code: "not_paid" });
  if (request.amountMinor <= 0n) return err({ code: "invalid_amount" });
  const already = refundedMinor(payment);
  if (already + request.amountMinor > payment.amountMinor) return err({ code: "exceeds_refundable" });
  const feeReturned = refundFee(
    money(payment.amountMinor, payment.currency),
    money(payment.feeMinor, payment.currency),
    money(request.amountMinor, payment.currency),
    schedule.rounding,
    money(already, payment.currency),
  );
  const refund: RefundRecord = {
    outRefundNo: request.outRefundNo,
    providerRefundNo: request.providerRefundNo,
    amountMinor: request.amountMinor,
    feeReturnedMinor: feeReturned.amountMinor,
    reason: request.reason,
    notifyUrl: request.notifyUrl,
    createdAtMs: atMs,
    status: "processing",
    successAtMs: undefined,
  };
  payment.refunds.push(refund);
  return ok(refund);
}

/** Marks an accepted refund successful at `atMs`. */
export function markRefundSucceeded(refund: RefundRecord, atMs: number): void {
  refund.status = "success";
  refund.successAtMs = atMs;
}
