import { context } from "@opentelemetry/api";
import { equals } from "@tributary/money";
import { assertNever } from "@tributary/result";
import type { PaymentStatusReport } from "../adapters/providers/provider-adapter.js";
import { failOver } from "./fail-over.js";
import { after, captureFee, earliest, feeScheduleOf, unownedCaptureRefundRef } from "./lifecycle-rules.js";
import type { LifecycleDeps, PaymentOutbox, PaymentRecord, TracedPaymentEvent, Tx } from "./ports.js";

/**
 * What applying a provider's report did, in the shape the webhook layer acknowledges by
 * (`applied` / `ignored` / `retry_later`, see `adapters/http/notification-effects.ts`).
 * `followUp` says provider work was queued (a failover attempt to create, an unowned capture to
 * refund): the caller may nudge the payment worker after its commit; the worker finds it anyway.
 */
export type LifecycleOutcome =
  | { readonly code: "applied"; readonly detail: string; readonly followUp?: boolean }
  | { readonly code: "ignored"; readonly reason: string; readonly followUp?: boolean }
  | { readonly code: "retry_later"; readonly reason: string };

const ignored = (reason: string): LifecycleOutcome => ({ code: "ignored", reason });

/**
 * The writes of a group of applies that commit in one transaction (the webhook's group commit).
 * A plain capture — a live attempt (`creating` / `pending`) captured with the amount it expects —
 * hands its row change and its PaymentCaptured to {@link DeferredCaptures.add} instead of writing
 * them, and the caller writes every one of the group in one UPDATE and one outbox append before
 * it commits. Every other apply calls `flush` before it touches the database, so it sees the rows
 * and the outbox exactly as if the group's earlier applies had written theirs one by one (a
 * failover reads the order's other attempts; a late capture appends to the same order's key).
 */
export interface DeferredCaptures {
  add(capture: DeferredCapture): void;
  /** Writes what was added so far, in `tx`. */
  flush(tx: Tx): Promise<void>;
}

/** One plain capture, as {@link applyPaymentReport} would have written it. */
export interface DeferredCapture {
  readonly paymentId: string;
  /** Kept as it is when the report names none (as `updatePayment` leaves an absent field). */
  readonly providerTransactionId: string | undefined;
  readonly providerStatus: string;
  readonly capturedAt: Date;
  readonly updatedAt: Date;
  /** The PaymentCaptured to append, with the trace context it was decided in. */
  readonly event: TracedPaymentEvent;
  /** Where the event goes: the lifecycle's outbox (which also counts it). */
  readonly outbox: PaymentOutbox;
}

/**
 * Applies what a provider says about one of our payments — from a verified notification or from
 * our own query; the same rules for both — inside the caller's transaction (the webhook layer's,
 * which also stores the notification id, or the worker's). The payment row is locked first, so
 * a notification and a query racing on one payment apply one after the other.
 *
 * - `pending`: a `creating` attempt exists at the provider → `pending`.
 * - `captured` (also `partially_refunded` / `refunded`, which imply it): a live attempt →
 *   `captured` + PaymentCaptured with the provider's fee from the policy's fee schedule. The
 *   amount must be stated and equal ours, or the attempt goes to `review` and nothing is published.
 *   A capture of an attempt that already `failed` or `closed` (a late "paid" after close, or an
 *   attempt we failed over from) is money taken all the same: if another attempt of the order is
 *   still waiting for the buyer, this capture pays the order and the waiting attempt is failed
 *   and closed at the provider by the worker; otherwise (the order is paid by another attempt, or
 *   closed unpaid) the capture is recorded (`captured_at`, status unchanged), PaymentCaptured
 *   published — the ledger sees the money, the order service sees a capture it does not own —
 *   and its full refund queued (`payment_refunds`, `unowned_capture`, refund ref
 *   `capture-refund:<payment id>`), counted.
 * - `failed` / `closed`: a `pending` attempt → that status + PaymentFailed (`declined` /
 *   `closed`, or `timed_out` past its expiry); a `creating` attempt certainly took no money → fail
 *   over to the next candidate.
 *
 * Idempotent and monotonic: a second capture report of a captured payment, a failure after a
 * capture, or a pending report of a pending payment change nothing (`ignored`).
 *
 * `locked`, when given, is the payment's row as the caller already locked it FOR UPDATE in `tx`
 * (the webhook's id-storing statement does), so it is not read a second time; with
 * `locked.deferred` a plain capture is handed to the caller's group instead of written here.
 */
export async function applyPaymentReport(
  deps: LifecycleDeps,
  tx: Tx,
  paymentId: string,
  report: PaymentStatusReport,
  locked?: { readonly record: PaymentRecord | undefined; readonly deferred?: DeferredCaptures },
): Promise<LifecycleOutcome> {
  if (report.paymentId !== paymentId) return ignored(`the report names payment ${report.paymentId}, not ${paymentId}`);
  if (locked !== undefined && locked.record !== undefined && locked.record.paymentId !== paymentId) {
    throw new Error(`applyPaymentReport: the locked row is payment ${locked.record.paymentId}, not ${paymentId}`);
  }
  const payment = locked === undefined ? await deps.store.loadPayment(tx, paymentId, { forUpdate: true }) : locked.record;
  if (payment === undefined) return ignored(`payment ${paymentId} is not ours`);
  const now = deps.clock();
  const deferred = locked?.deferred;
  switch (report.status) {
    case "pending":
      await deferred?.flush(tx);
      return applyPending(deps, tx, payment, report, now);
    case "captured":
    case "partially_refunded":
    case "refunded":
      return applyCaptured(deps, tx, payment, report, now, deferred);
    case "failed":
    case "closed":
      await deferred?.flush(tx);
      return applyUnpaid(deps, tx, payment, report, now);
    default:
      return assertNever(report.status, "provider payment status");
  }
}

async function applyPending(deps: LifecycleDeps, tx: Tx, payment: PaymentRecord, report: PaymentStatusReport, now: Date): Promise<LifecycleOutcome> {
  if (payment.status !== "creating") return ignored(`payment ${payment.paymentId} is ${payment.status}; pending changes nothing`);
  await deps.store.updatePayment(
    tx,
    payment.paymentId,
    { status: "pending", providerStatus: report.providerStatus, nextCheckAt: earliest(after(now, deps.timings.firstQueryAfterMs), payment.expiresAt) },
    now,
  );
  return { code: "applied", detail: `payment ${payment.paymentId} exists at ${payment.provider}: pending` };
}

async function applyCaptured(
  deps: LifecycleDeps,
  tx: Tx,
  payment: PaymentRecord,
  report: PaymentStatusReport,
  now: Date,
  deferred: DeferredCaptures | undefined,
): Promise<LifecycleOutcome> {
  if (payment.status === "captured") return ignored(`payment ${payment.paymentId} is already captured`);
  if (payment.capturedAt !== undefined) return ignored(`the late capture of payment ${payment.paymentId} is already recorded`);
  if (payment.status === "review") return ignored(`payment ${payment.paymentId} is in review`);
  const plain = (payment.status === "creating" || payment.status === "pending") && report.amount !== undefined && equals(report.amount, payment.amount);
  // Anything but a plain capture writes here, after the group's earlier captures are written.
  if (!plain) await deferred?.flush(tx);
  if (report.amount === undefined || !equals(report.amount, payment.amount)) {
    const stated = report.amount === undefined ? "no amount" : `${report.amount.amountMinor} ${report.amount.currency}`;
    deps.logger?.error({ paymentId: payment.paymentId, provider: payment.provider, stated }, "payment-routing: a capture report's amount does not match the payment; sent to review");
    if (payment.status === "creating" || payment.status === "pending") {
      await deps.store.updatePayment(tx, payment.paymentId, { status: "review", failureReason: `integrity_mismatch: captured ${stated}`, nextCheckAt: null }, now);
    }
    return ignored(`capture of payment ${payment.paymentId} states ${stated}, not ${payment.amount.amountMinor} ${payment.amount.currency}`);
  }
  const capturedAt = report.paidAt ?? now;
  const policy = await deps.policySource.current();
  const fee = captureFee(feeScheduleOf(policy, payment.provider, payment.amount.currency), payment.amount);
  const captured = {
    providerTransactionId: report.providerTransactionId,
    providerStatus: report.providerStatus,
    capturedAt,
  };
  if (payment.status === "creating" || payment.status === "pending") {
    const event: TracedPaymentEvent = {
      type: "payment_captured",
      payment: { ...payment, status: "captured" },
      providerTransactionId: report.providerTransactionId,
      fee,
      capturedAt,
    };
    if (deferred !== undefined) {
      deferred.add({
        paymentId: payment.paymentId,
        providerTransactionId: report.providerTransactionId,
        providerStatus: report.providerStatus,
        capturedAt,
        updatedAt: now,
        // Appended later, outside this apply's span: the event keeps the span it was decided in.
        event: { ...event, traceContext: context.active() },
        outbox: deps.outbox,
      });
      return { code: "applied", detail: `payment ${payment.paymentId} captured` };
    }
    await deps.store.updatePayment(tx, payment.paymentId, { ...captured, status: "captured", nextCheckAt: null }, now);
    await deps.outbox.append(tx, [event]);
    return { code: "applied", detail: `payment ${payment.paymentId} captured` };
  }
  // A capture of a failed or closed attempt.
  const attempts = await deps.store.paymentsOfOrder(tx, payment.orderId, { forUpdate: true });
  const live = attempts.find((a) => a.paymentId !== payment.paymentId && a.status !== "failed" && a.status !== "closed");
  if (live !== undefined && (live.status === "creating" || live.status === "pending")) {
    // The order is still waiting for its buyer: this capture pays it. The waiting attempt is
    // failed here and closed at the provider by the worker; if it was paid meanwhile, that
    // capture is the one refunded.
    await deps.store.updatePayment(
      tx,
      live.paymentId,
      { status: "failed", failureReason: `superseded: payment ${payment.paymentId} was captured`, nextCheckAt: now },
      now,
    );
    await deps.store.updatePayment(tx, payment.paymentId, { ...captured, status: "captured", nextCheckAt: null }, now);
    await deps.outbox.append(tx, [
      { type: "payment_captured", payment: { ...payment, status: "captured" }, providerTransactionId: report.providerTransactionId, fee, capturedAt },
    ]);
    return { code: "applied", detail: `payment ${payment.paymentId} captured after it ${payment.status}; it pays the order, ${live.paymentId} is superseded`, followUp: true };
  }
  await deps.store.updatePayment(tx, payment.paymentId, { ...captured, nextCheckAt: null }, now);
  const refundRef = unownedCaptureRefundRef(payment.paymentId);
  const existingRefund = await deps.store.loadRefund(tx, refundRef, { forUpdate: false });
  if (existingRefund === undefined) {
    await deps.store.insertRefund(tx, {
      refundRef,
      paymentId: payment.paymentId,
      orderId: payment.orderId,
      amount: payment.amount,
      reason:
        live === undefined
          ? `late capture: payment ${payment.paymentId} was ${payment.status} (${payment.failureReason ?? "no reason"}) when ${payment.provider} captured it`
          : `second capture: order ${payment.orderId} is already paid by payment ${live.paymentId}`,
      status: "requested",
      unownedCapture: true,
      providerRefundId: undefined,
      providerStatus: undefined,
      failureReason: undefined,
      createdAt: now,
      updatedAt: now,
      nextCheckAt: now,
    });
  }
  await deps.outbox.append(tx, [
    { type: "payment_captured", payment, providerTransactionId: report.providerTransactionId, fee, capturedAt },
  ]);
  deps.metrics.unownedCaptureRefunded(payment.provider, live === undefined ? "late_capture" : "second_capture");
  deps.logger?.warn(
    { paymentId: payment.paymentId, orderId: payment.orderId, provider: payment.provider, refundRef },
    `payment-routing: payment ${payment.paymentId} was captured after it ${payment.status}; refunding it in full (${refundRef})`,
  );
  return { code: "applied", detail: `unowned capture of payment ${payment.paymentId} recorded; refund ${refundRef} queued`, followUp: true };
}

async function applyUnpaid(deps: LifecycleDeps, tx: Tx, payment: PaymentRecord, report: PaymentStatusReport, now: Date): Promise<LifecycleOutcome> {
  switch (payment.status) {
    case "creating": {
      // It exists at the provider and can no longer be paid: nothing was taken, fail over.
      const outcome = await failOver(deps, tx, payment, `${report.status} at ${payment.provider} (${report.providerStatus}) before it was created here`, now);
      return { code: "applied", detail: `payment ${payment.paymentId} ${report.status} while creating: ${outcome.code}`, followUp: outcome.code === "next_attempt" };
    }
    case "pending": {
      const timedOut = now.getTime() >= payment.expiresAt.getTime();
      const reasonCode = report.status === "failed" ? "declined" : timedOut ? "timed_out" : "closed";
      await deps.store.updatePayment(
        tx,
        payment.paymentId,
        { status: report.status === "failed" ? "failed" : "closed", providerStatus: report.providerStatus, failureReason: reasonCode, nextCheckAt: null },
        now,
      );
      await deps.outbox.append(tx, [
        {
          type: "payment_failed",
          paymentId: payment.paymentId,
          orderId: payment.orderId,
          merchantId: payment.merchantId,
          provider: payment.provider,
          reasonCode,
          providerMessage: report.providerStatus,
        },
      ]);
      return { code: "applied", detail: `payment ${payment.paymentId} ${report.status} (${reasonCode})` };
    }
    case "captured":
    case "failed":
    case "closed":
    case "review":
      return ignored(`payment ${payment.paymentId} is ${payment.status}; ${report.status} changes nothing`);
    default:
      return assertNever(payment.status, "payment status");
  }
}
