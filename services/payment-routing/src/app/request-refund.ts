import { equals, type Money } from "@tributary/money";
import type { LifecycleOutcome } from "./apply-payment-report.js";
import type { LifecycleDeps, PaymentRecord, RefundRecord, Tx } from "./ports.js";

/** A refund to execute at the provider, from `orders.v1`. */
export type RefundCommand =
  /** OrderRefundRequested: the merchant refunds (part of) the order's captured payment. */
  | { readonly kind: "order_refund"; readonly orderId: string; readonly refundRef: string; readonly amount: Money; readonly reason: string }
  /** CaptureRefundRequested: money no order owns goes back in full; the event names the payment. */
  | {
      readonly kind: "capture_refund";
      readonly orderId: string;
      readonly paymentId: string;
      readonly refundRef: string;
      readonly amount: Money;
      readonly reason: string;
    };

/**
 * Records a refund request in the caller's transaction (the consumer's, with its inbox row); the
 * payment worker then calls the provider with `refund_ref` as the idempotency key. Idempotent on
 * `refund_ref`: a second request with the same ref changes nothing (so the order service's
 * CaptureRefundRequested for a capture we are already refunding ourselves refunds it once).
 *
 * Refused without calling the provider, with RefundFailed (and a `failed` refund row, so a
 * repeat stays refused): no captured payment (`no_captured_payment`), another currency
 * (`currency_mismatch`), more than captured minus what is refunded or being refunded
 * (`refund_exceeds_captured`).
 */
export async function requestRefund(deps: LifecycleDeps, tx: Tx, command: RefundCommand): Promise<LifecycleOutcome> {
  const existing = await deps.store.loadRefund(tx, command.refundRef, { forUpdate: false });
  if (existing !== undefined) {
    if (!equals(existing.amount, command.amount)) {
      deps.logger?.warn({ refundRef: command.refundRef }, "payment-routing: a refund request repeats a refund_ref with another amount; the first stands");
    }
    return { code: "ignored", reason: `refund ${command.refundRef} was already requested (${existing.status})` };
  }
  const payment = await paymentToRefund(deps, tx, command);
  const now = deps.clock();
  if (payment === undefined) {
    const attempts = await deps.store.paymentsOfOrder(tx, command.orderId, { forUpdate: false });
    const named = command.kind === "capture_refund" ? command.paymentId : attempts.at(-1)?.paymentId;
    await deps.outbox.append(tx, [
      {
        type: "refund_failed",
        // The order service requires a payment id; an order we never saw is named by its own id.
        paymentId: named ?? `order:${command.orderId}`,
        orderId: command.orderId,
        refundRef: command.refundRef,
        reasonCode: "no_captured_payment",
        providerMessage: "",
      },
    ]);
    return { code: "applied", detail: `refund ${command.refundRef}: no captured payment to refund` };
  }
  const refund: RefundRecord = {
    refundRef: command.refundRef,
    paymentId: payment.paymentId,
    orderId: command.orderId,
    amount: command.amount,
    reason: command.reason === "" ? command.kind : command.reason,
    status: "requested",
    unownedCapture: command.kind === "capture_refund",
    providerRefundId: undefined,
    providerStatus: undefined,
    failureReason: undefined,
    createdAt: now,
    updatedAt: now,
    nextCheckAt: now,
  };
  const refusal = await refusalOf(deps, tx, payment, command.amount);
  if (refusal !== undefined) {
    await deps.store.insertRefund(tx, { ...refund, status: "failed", failureReason: refusal.code, nextCheckAt: undefined });
    await deps.outbox.append(tx, [
      {
        type: "refund_failed",
        paymentId: payment.paymentId,
        orderId: command.orderId,
        refundRef: command.refundRef,
        reasonCode: refusal.code,
        providerMessage: refusal.message,
      },
    ]);
    return { code: "applied", detail: `refund ${command.refundRef} refused: ${refusal.code}` };
  }
  await deps.store.insertRefund(tx, refund);
  if (command.kind === "capture_refund") deps.metrics.unownedCaptureRefunded(payment.provider, "capture_refund_requested");
  return { code: "applied", detail: `refund ${command.refundRef} of payment ${payment.paymentId} requested`, followUp: true };
}

/** The captured payment a refund applies to: the order's captured attempt, or the capture the event names. */
async function paymentToRefund(deps: LifecycleDeps, tx: Tx, command: RefundCommand): Promise<PaymentRecord | undefined> {
  if (command.kind === "capture_refund") {
    const payment = await deps.store.loadPayment(tx, command.paymentId, { forUpdate: true });
    return payment?.capturedAt === undefined ? undefined : payment;
  }
  const attempts = await deps.store.paymentsOfOrder(tx, command.orderId, { forUpdate: true });
  return attempts.find((a) => a.status === "captured");
}

/** Why a refund cannot be sent, or undefined when it can. Refunds requested or processing count as spent. */
async function refusalOf(
  deps: LifecycleDeps,
  tx: Tx,
  payment: PaymentRecord,
  amount: Money,
): Promise<{ readonly code: string; readonly message: string } | undefined> {
  if (amount.currency !== payment.amount.currency) {
    return { code: "currency_mismatch", message: `the payment is in ${payment.amount.currency}, the refund in ${amount.currency}` };
  }
  const refunds = await deps.store.refundsOfPayment(tx, payment.paymentId);
  const spent = refunds.filter((r) => r.status !== "failed").reduce((total, r) => total + r.amount.amountMinor, 0n);
  const remaining = payment.amount.amountMinor - spent;
  if (amount.amountMinor > remaining) {
    return {
      code: "refund_exceeds_captured",
      message: `captured ${payment.amount.amountMinor}, refunded or being refunded ${spent}, so at most ${remaining} may be refunded, not ${amount.amountMinor} (minor units of ${payment.amount.currency})`,
    };
  }
  return undefined;
}
