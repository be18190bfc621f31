import { equals, money } from "@tributary/money";
import { assertNever } from "@tributary/result";
import type { RefundStatusReport } from "../adapters/providers/provider-adapter.js";
import type { LifecycleOutcome } from "./apply-payment-report.js";
import { after, feeScheduleOf, providerRefundNo, refundedFee } from "./lifecycle-rules.js";
import type { LifecycleDeps, Tx } from "./ports.js";

const ignored = (reason: string): LifecycleOutcome => ({ code: "ignored", reason });

/**
 * Applies what a provider says about one of our refunds (a verified notification or our query),
 * in the caller's transaction, refund and payment rows locked. The report names the refund by
 * the number the provider was given ({@link providerRefundNo} of our `refund_ref`), looked up
 * among the refunds of `paymentId`:
 * - `succeeded` with this refund's own amount → `succeeded`, the payment's `refunded_minor` grows,
 *   PaymentRefunded with the fee the provider gives back (proportional and cumulative,
 *   `refundFee`). A report without this refund's amount (Alipay's notifications carry only the
 *   cumulative total) proves nothing about this refund: the worker queries it at once instead.
 * - `processing` → `processing`, queried after `refundQueryAfterMs`.
 * - `failed` → `failed` + RefundFailed `refund_failed_at_provider`.
 * A report for a refund already succeeded or failed changes nothing, except that a refund we
 * thought failed which the provider reports succeeded is succeeded (the money did go back).
 */
export async function applyRefundReport(deps: LifecycleDeps, tx: Tx, paymentId: string, report: RefundStatusReport): Promise<LifecycleOutcome> {
  const named = (await deps.store.refundsOfPayment(tx, paymentId)).find((r) => providerRefundNo(r.refundRef) === report.refundRef);
  if (named === undefined) return ignored(`payment ${paymentId} has no refund the provider numbers ${report.refundRef}`);
  const refundRef = named.refundRef;
  const refund = await deps.store.loadRefund(tx, refundRef, { forUpdate: true });
  if (refund === undefined) return ignored(`refund ${refundRef} is not ours`);
  const payment = await deps.store.loadPayment(tx, refund.paymentId, { forUpdate: true });
  if (payment === undefined) throw new Error(`refund ${refundRef} names payment ${refund.paymentId}, which has no row`);
  const now = deps.clock();
  switch (report.status) {
    case "succeeded": {
      if (refund.status === "succeeded") return ignored(`refund ${refundRef} already succeeded`);
      if (report.amount === undefined) {
        await deps.store.updateRefund(tx, refundRef, { nextCheckAt: now }, now);
        return { code: "ignored", reason: `refund ${refundRef}: the report states no amount of its own; queried instead`, followUp: true };
      }
      if (!equals(report.amount, refund.amount)) {
        deps.logger?.error({ refundRef, stated: report.amount.amountMinor.toString() }, "payment-routing: a refund report's amount does not match the refund");
        return ignored(`refund ${refundRef} states ${report.amount.amountMinor} ${report.amount.currency}, not ${refund.amount.amountMinor}`);
      }
      const policy = await deps.policySource.current();
      const schedule = feeScheduleOf(policy, payment.provider, payment.amount.currency);
      const refundedBefore = money(payment.refundedMinor, payment.amount.currency);
      const feeReturned = refundedFee(schedule, payment.amount, refund.amount, refundedBefore);
      await deps.store.updatePayment(tx, payment.paymentId, { refundedMinor: payment.refundedMinor + refund.amount.amountMinor }, now);
      await deps.store.updateRefund(
        tx,
        refundRef,
        {
          status: "succeeded",
          nextCheckAt: null,
          providerStatus: report.providerStatus,
          ...(report.providerRefundId === undefined ? {} : { providerRefundId: report.providerRefundId }),
        },
        now,
      );
      await deps.outbox.append(tx, [
        { type: "payment_refunded", payment, refund: { ...refund, status: "succeeded" }, providerRefundId: report.providerRefundId, feeReturned, refundedAt: now },
      ]);
      return { code: "applied", detail: `refund ${refundRef} succeeded` };
    }
    case "processing":
      if (refund.status !== "requested") return ignored(`refund ${refundRef} is ${refund.status}; processing changes nothing`);
      await deps.store.updateRefund(
        tx,
        refundRef,
        {
          status: "processing",
          providerStatus: report.providerStatus,
          nextCheckAt: after(now, deps.timings.refundQueryAfterMs),
          ...(report.providerRefundId === undefined ? {} : { providerRefundId: report.providerRefundId }),
        },
        now,
      );
      return { code: "applied", detail: `refund ${refundRef} processing` };
    case "failed":
      if (refund.status === "succeeded" || refund.status === "failed") return ignored(`refund ${refundRef} is ${refund.status}; failed changes nothing`);
      await deps.store.updateRefund(
        tx,
        refundRef,
        { status: "failed", providerStatus: report.providerStatus, failureReason: "refund_failed_at_provider", nextCheckAt: null },
        now,
      );
      await deps.outbox.append(tx, [
        {
          type: "refund_failed",
          paymentId: payment.paymentId,
          orderId: refund.orderId,
          refundRef,
          reasonCode: "refund_failed_at_provider",
          providerMessage: report.providerStatus,
        },
      ]);
      return { code: "applied", detail: `refund ${refundRef} failed at ${payment.provider}` };
    default:
      return assertNever(report.status, "provider refund status");
  }
}
