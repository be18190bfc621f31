import { SpanKind, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import { assertNever, type Result } from "@tributary/result";
import { contextOfTraceParent, setOrderIdOnActiveSpan } from "@tributary/telemetry";
import type { ProviderAdapter, ProviderCallError } from "../adapters/providers/provider-adapter.js";
import type { AttemptKind } from "../domain/routing/health.js";
import { applyPaymentReport, type LifecycleOutcome } from "./apply-payment-report.js";
import { applyRefundReport } from "./apply-refund-report.js";
import { failOver } from "./fail-over.js";
import { groupWrites } from "./group-writes.js";
import { after, attemptKindOf, describeCallError, earliest, providerRefundNo } from "./lifecycle-rules.js";
import type { CreatedAtProvider, LifecycleDeps, PaymentRecord, RefundRecord, Tx } from "./ports.js";

/** Runs `work` in one transaction: COMMIT when it returns, ROLLBACK when it throws. */
export type InTransaction = <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;

/** What one sweep did, for tests and logs. */
export interface SweepReport {
  readonly payments: number;
  readonly refunds: number;
  readonly errors: number;
}

/** The payment worker: every provider call of the lifecycle after the row that asks for it committed. */
export interface PaymentWorker {
  /** Claims every due payment and refund (in batches) and works them; resolves when none is left. */
  sweepOnce(): Promise<SweepReport>;
  /** Asks for a sweep soon (after a commit that queued work); sweeps never overlap. */
  nudge(): void;
  stop(): Promise<void>;
}

export interface PaymentWorkerOptions {
  readonly inTransaction: InTransaction;
  /** Between sweeps when nothing nudges; 1 s unless told. */
  readonly intervalMs?: number;
  /** Rows claimed per statement; 20 unless told. */
  readonly batchSize?: number;
  /** Delay of a nudged sweep, so the nudging transaction has committed; 20 ms unless told. */
  readonly nudgeDelayMs?: number;
}

/**
 * The lost-notification sweeper and the executor of every provider call in one loop, on this
 * instance. Work is whatever row has `next_check_at <= now`: a queued attempt to create, an
 * attempt whose outcome is unknown (query it), a pending payment whose notification has not
 * come (query it; past its expiry close it, then PaymentFailed `timed_out` unless the query shows
 * it captured), an attempt superseded by another capture (close it), a refund to send or to
 * query. Rows are claimed with FOR UPDATE SKIP LOCKED and a lease (`next_check_at` moved to
 * now + `leaseMs`), so instances never work the same row twice at once, and a crash mid-call is
 * retried when the lease ends. Every provider call is recorded in the health tracker.
 */
export function startPaymentWorker(deps: LifecycleDeps, options: PaymentWorkerOptions): PaymentWorker {
  const intervalMs = options.intervalMs ?? 1_000;
  const batchSize = options.batchSize ?? 20;
  const nudgeDelayMs = options.nudgeDelayMs ?? 20;
  const calls = providerCalls(deps, options.inTransaction);
  // Taken when the worker starts, not when this module loads: a tracer taken before telemetry
  // started (a test that imports the service first) would stay a no-op.
  const tracer = trace.getTracer("@tributary/payment-routing");
  let stopped = false;
  let running: Promise<SweepReport> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const sweep = async (): Promise<SweepReport> => {
    let payments = 0;
    let refunds = 0;
    let errors = 0;
    for (;;) {
      const now = deps.clock();
      const lease = after(now, deps.timings.leaseMs);
      const claimedPayments = await deps.store.claimDuePayments(deps.pool, now, lease, batchSize);
      const claimedRefunds = await deps.store.claimDueRefunds(deps.pool, now, lease, batchSize);
      const results = await Promise.allSettled([
        ...claimedPayments.map((c) =>
          inSpan(tracer, c.toSend ? "create payment" : `check ${c.payment.status} payment`, c.payment, () => (c.toSend ? calls.create(c.payment) : calls.check(c.payment))),
        ),
        ...claimedRefunds.map((r) => inSpan(tracer, `${r.status === "requested" ? "send" : "check"} refund`, r, () => calls.refund(r))),
      ]);
      for (const result of results) {
        if (result.status === "rejected") {
          errors += 1;
          deps.logger?.error({ err: result.reason }, "payment-routing: a sweep step failed; the row is retried when its lease ends");
        }
      }
      payments += claimedPayments.length;
      refunds += claimedRefunds.length;
      if (claimedPayments.length < batchSize && claimedRefunds.length < batchSize) break;
    }
    return { payments, refunds, errors };
  };

  const sweepOnce = async (): Promise<SweepReport> => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = sweep();
    try {
      return await running;
    } finally {
      running = undefined;
    }
  };

  let timerDueAt = 0;
  /** Sweeps after `delayMs`, unless a sweep is already due sooner (so a stream of nudges never postpones one). */
  const schedule = (delayMs: number): void => {
    if (stopped) return;
    const dueAt = Date.now() + delayMs;
    if (timer !== undefined) {
      if (timerDueAt <= dueAt) return;
      clearTimeout(timer);
    }
    timerDueAt = dueAt;
    timer = setTimeout(() => {
      timer = undefined;
      sweepOnce()
        .catch((error: unknown) => deps.logger?.error({ err: error }, "payment-routing: sweep failed"))
        .finally(() => {
          const soon = again;
          again = false;
          schedule(soon ? 0 : intervalMs);
        });
    }, delayMs);
  };
  schedule(0);

  return {
    sweepOnce,
    nudge: () => {
      if (running !== undefined) again = true;
      else schedule(nudgeDelayMs);
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

/**
 * Runs one row's work in its own span, stamped with the order id (`tributary trace <order id>`
 * finds it) and the payment id; the events it appends to the outbox carry this span's context.
 * A payment's span continues the trace the attempt was created in (its stored traceparent), so the
 * provider call sits under the order's trace; a refund's starts its own.
 */
function inSpan(
  tracer: Tracer,
  what: string,
  row: { readonly orderId: string; readonly paymentId: string; readonly traceParent?: string | undefined },
  work: () => Promise<void>,
): Promise<void> {
  const parent = contextOfTraceParent(row.traceParent);
  return tracer.startActiveSpan(`payment-routing ${what}`, { kind: SpanKind.INTERNAL, attributes: { "tributary.payment_id": row.paymentId } }, parent, async (span) => {
    setOrderIdOnActiveSpan(row.orderId);
    try {
      await work();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Every provider call the worker makes, with what follows from each answer. */
function providerCalls(deps: LifecycleDeps, inTransaction: InTransaction) {
  /** Calls the provider, records the outcome in the health tracker and the metrics. */
  const call = async <T>(payment: { provider: PaymentRecord["provider"]; channel: PaymentRecord["channel"] }, name: string, run: (adapter: ProviderAdapter) => Promise<Result<T, ProviderCallError>>): Promise<Result<T, ProviderCallError>> => {
    const adapter = deps.adapters.get(payment.provider);
    if (adapter === undefined) {
      return { ok: false, error: { code: "unreachable", message: `no adapter for ${payment.provider} in this instance`, retryable: true } };
    }
    const startedAt = performance.now();
    const result = await run(adapter);
    const elapsedMs = performance.now() - startedAt;
    const latencyMs = Math.round(elapsedMs);
    const kind: AttemptKind = result.ok ? "succeeded" : attemptKindOf(result.error);
    deps.health.record(payment.provider, payment.channel, { kind, latencyMs }, deps.clock());
    deps.metrics.providerCall(payment.provider, name, result.ok ? "ok" : result.error.code, elapsedMs / 1_000);
    return result;
  };

  // The answers to creates that finish while one batch is being written go in the next: one
  // statement for many payments under load. A write lost to a crash leaves the row `creating`
  // with its lease: it is queried when the lease ends, never created again.
  const recordCreated = groupWrites<CreatedAtProvider>((created) => deps.store.recordCreated(deps.pool, created, deps.clock()));

  const reschedule = (payment: PaymentRecord, at: Date, update: { providerStatus?: string } = {}): Promise<void> =>
    inTransaction(async (tx) => {
      const current = await deps.store.loadPayment(tx, payment.paymentId, { forUpdate: true });
      if (current?.status !== payment.status) return;
      await deps.store.updatePayment(tx, payment.paymentId, { ...update, nextCheckAt: at }, deps.clock());
    });

  /** Applies a report; then, if the payment is still pending, schedules its next query. */
  const applyAndReschedule = (payment: PaymentRecord, apply: (tx: Tx) => Promise<LifecycleOutcome>): Promise<LifecycleOutcome> =>
    inTransaction(async (tx) => {
      const outcome = await apply(tx);
      const current = await deps.store.loadPayment(tx, payment.paymentId, { forUpdate: true });
      if (current !== undefined && current.status === "pending" && current.status === payment.status) {
        const now = deps.clock();
        const next = now.getTime() >= current.expiresAt.getTime() ? now : earliest(after(now, deps.timings.queryIntervalMs), current.expiresAt);
        await deps.store.updatePayment(tx, payment.paymentId, { nextCheckAt: next }, now);
      }
      return outcome;
    });

  /** Creates the next attempt a failover stored, right away (if no other instance took it). */
  const createNext = async (next: PaymentRecord | undefined): Promise<void> => {
    if (next === undefined) return;
    const claimed = await deps.store.claimQueuedPayment(deps.pool, next.paymentId, after(deps.clock(), deps.timings.leaseMs));
    if (claimed !== undefined) await create(claimed);
  };

  const failOverNow = async (payment: PaymentRecord, reason: string): Promise<void> => {
    const next = await inTransaction(async (tx) => {
      const current = await deps.store.loadPayment(tx, payment.paymentId, { forUpdate: true });
      if (current?.status !== "creating") return undefined;
      const outcome = await failOver(deps, tx, current, reason, deps.clock());
      return outcome.code === "next_attempt" ? outcome.next : undefined;
    });
    await createNext(next);
  };

  const toReview = (payment: PaymentRecord, reason: string): Promise<void> =>
    inTransaction(async (tx) => {
      const current = await deps.store.loadPayment(tx, payment.paymentId, { forUpdate: true });
      if (current?.status !== payment.status) return;
      deps.logger?.error({ paymentId: payment.paymentId, provider: payment.provider, reason }, "payment-routing: payment sent to review");
      await deps.store.updatePayment(tx, payment.paymentId, { status: "review", failureReason: reason, nextCheckAt: null }, deps.clock());
    });

  /** The first call for an attempt: create it at the provider with the payment id as the idempotency key. */
  const create = async (payment: PaymentRecord): Promise<void> => {
    const providerBuyerId = payment.buyerAccounts[payment.provider];
    const result = await call(payment, "create_payment", (adapter) =>
      adapter.createPayment({
        paymentId: payment.paymentId,
        orderId: payment.orderId,
        merchantId: payment.merchantId,
        amount: payment.amount,
        channel: payment.channel,
        ...(providerBuyerId === undefined ? {} : { providerBuyerId }),
        description: `Tributary order ${payment.orderId}`,
        notifyUrl: deps.notifyUrl(payment.provider),
        expiresAt: payment.expiresAt,
      }),
    );
    if (result.ok) {
      // One statement, no transaction: `creating` → `pending`, or — when a notification was faster
      // than the answer (the buyer paid already) — its state kept and only the buyer action added.
      await recordCreated({ paymentId: payment.paymentId, buyerAction: result.value.buyerAction, firstQueryAt: after(deps.clock(), deps.timings.firstQueryAfterMs) });
      return;
    }
    const error = result.error;
    switch (error.code) {
      case "rejected":
      case "not_found":
      case "unreachable":
        // Certainly nothing created (refused, or never sent): the next rail may try.
        await failOverNow(payment, describeCallError(error));
        return;
      case "outcome_unknown":
      case "bad_response_signature":
        // It may exist: ask before anything else.
        await resolveUnknown(payment, describeCallError(error));
        return;
      case "integrity_mismatch":
      case "unknown_provider_status":
        await toReview(payment, describeCallError(error));
        return;
      default:
        assertNever(error, "provider call error");
    }
  };

  /** An attempt whose creation may or may not have happened: query; fail over only on proof. */
  const resolveUnknown = async (payment: PaymentRecord, why: string): Promise<void> => {
    const result = await call(payment, "query_payment", (adapter) => adapter.queryPayment(payment.paymentId, payment.amount));
    if (result.ok) {
      const outcome = await applyAndReschedule(payment, (tx) => applyPaymentReport(deps, tx, payment.paymentId, result.value));
      if (outcome.code !== "retry_later" && outcome.followUp === true) await createNextQueued(payment);
      return;
    }
    switch (result.error.code) {
      case "not_found":
        await failOverNow(payment, `${why}; then not found at ${payment.provider}`);
        return;
      case "integrity_mismatch":
      case "unknown_provider_status":
        await toReview(payment, describeCallError(result.error));
        return;
      case "rejected":
      case "outcome_unknown":
      case "unreachable":
      case "bad_response_signature":
        // Still unknown: the row stays `creating`; never create elsewhere while it might exist.
        if (deps.clock().getTime() >= payment.expiresAt.getTime()) {
          await timeOutUnknown(payment, why);
          return;
        }
        await reschedule(payment, after(deps.clock(), deps.timings.unknownRetryMs), { providerStatus: `outcome_unknown (${why})` });
        return;
      default:
        assertNever(result.error, "provider call error");
    }
  };

  /**
   * An attempt whose outcome stayed unknown until the buyer's time was over: close it at the
   * provider, so it can never be paid, then end the order's payment (`timed_out`, no failover —
   * the buyer's time is over on every rail). A close that is itself unknown, or refused (it may
   * have been paid), is tried again later; the capture, if any, arrives through the query.
   */
  const timeOutUnknown = async (payment: PaymentRecord, why: string): Promise<void> => {
    const closed = await call(payment, "close_payment", (adapter) => adapter.closePayment(payment.paymentId));
    // UnionPay ACP has no close: a QR consume ends by itself at the payTimeout we sent (the expiry).
    const closesByItself = !closed.ok && closed.error.code === "rejected" && closed.error.providerCode === "close_not_supported";
    if (!closed.ok && closed.error.code !== "not_found" && !closesByItself) {
      await reschedule(payment, after(deps.clock(), deps.timings.unknownRetryMs), { providerStatus: `outcome_unknown (${why}); close: ${closed.error.code}` });
      return;
    }
    await inTransaction(async (tx) => {
      const current = await deps.store.loadPayment(tx, payment.paymentId, { forUpdate: true });
      if (current?.status !== "creating") return;
      const now = deps.clock();
      await deps.store.updatePayment(tx, payment.paymentId, { status: "closed", failureReason: "timed_out", providerStatus: closed.ok ? "closed" : "not_found", nextCheckAt: null }, now);
      await deps.outbox.append(tx, [
        {
          type: "payment_failed",
          paymentId: payment.paymentId,
          orderId: payment.orderId,
          merchantId: payment.merchantId,
          provider: payment.provider,
          reasonCode: "timed_out",
          providerMessage: `outcome of the creation never known (${why}); closed at ${payment.provider} after its expiry`,
        },
      ]);
    });
  };

  /** After a report made a failover, the next attempt is queued: create it now. */
  const createNextQueued = async (payment: PaymentRecord): Promise<void> => {
    const attempts = await deps.store.paymentsOfOrder(deps.pool, payment.orderId, { forUpdate: false });
    const queued = attempts.find((a) => a.status === "creating" && a.providerStatus === undefined);
    await createNext(queued);
  };

  /** Closes an expired pending payment at the provider, then decides from one more query. */
  const closeExpired = async (payment: PaymentRecord): Promise<void> => {
    const closed = await call(payment, "close_payment", (adapter) => adapter.closePayment(payment.paymentId));
    if (!closed.ok && (closed.error.code === "outcome_unknown" || closed.error.code === "unreachable")) {
      await reschedule(payment, after(deps.clock(), deps.timings.unknownRetryMs));
      return;
    }
    // Closed, or refused (already paid; or a provider that closes by itself at the expiry we sent).
    const query = await call(payment, "query_payment", (adapter) => adapter.queryPayment(payment.paymentId, payment.amount));
    if (query.ok && query.value.status !== "pending") {
      await applyAndReschedule(payment, (tx) => applyPaymentReport(deps, tx, payment.paymentId, query.value));
      return;
    }
    if (!query.ok && !closed.ok) {
      // Close refused and nothing known: ask again later rather than guess.
      await reschedule(payment, after(deps.clock(), deps.timings.unknownRetryMs));
      return;
    }
    const providerStatus = query.ok ? query.value.providerStatus : closed.ok ? "closed" : describeCallError(closed.error);
    await applyAndReschedule(payment, (tx) =>
      applyPaymentReport(deps, tx, payment.paymentId, { paymentId: payment.paymentId, status: "closed", providerStatus }),
    );
  };

  /** A pending payment whose notification has not come: query; close it past its expiry. */
  const checkPending = async (payment: PaymentRecord): Promise<void> => {
    const now = deps.clock();
    const expired = now.getTime() >= payment.expiresAt.getTime();
    const result = await call(payment, "query_payment", (adapter) => adapter.queryPayment(payment.paymentId, payment.amount));
    if (result.ok) {
      if (result.value.status === "pending" && expired) {
        await closeExpired(payment);
        return;
      }
      await applyAndReschedule(payment, (tx) => applyPaymentReport(deps, tx, payment.paymentId, result.value));
      return;
    }
    if (result.error.code === "integrity_mismatch" || result.error.code === "unknown_provider_status") {
      await toReview(payment, describeCallError(result.error));
      return;
    }
    if (expired && result.error.code === "not_found") {
      await closeExpired(payment);
      return;
    }
    await reschedule(payment, after(now, deps.timings.unknownRetryMs));
  };

  /** A failed attempt superseded by another capture: close it at the provider; a capture found is refunded. */
  const closeSuperseded = async (payment: PaymentRecord): Promise<void> => {
    const closed = await call(payment, "close_payment", (adapter) => adapter.closePayment(payment.paymentId));
    if (!closed.ok && (closed.error.code === "outcome_unknown" || closed.error.code === "unreachable")) {
      await reschedule(payment, after(deps.clock(), deps.timings.unknownRetryMs));
      return;
    }
    const query = await call(payment, "query_payment", (adapter) => adapter.queryPayment(payment.paymentId, payment.amount));
    await inTransaction(async (tx) => {
      if (query.ok && query.value.status !== "pending") await applyPaymentReport(deps, tx, payment.paymentId, query.value);
      await deps.store.updatePayment(tx, payment.paymentId, { nextCheckAt: null }, deps.clock());
    });
  };

  const clearCheck = (payment: PaymentRecord): Promise<void> =>
    inTransaction(async (tx) => {
      await deps.store.updatePayment(tx, payment.paymentId, { nextCheckAt: null }, deps.clock());
    });

  const check = async (payment: PaymentRecord): Promise<void> => {
    switch (payment.status) {
      case "creating":
        await resolveUnknown(payment, payment.providerStatus ?? "outcome unknown");
        return;
      case "pending":
        await checkPending(payment);
        return;
      case "failed":
      case "closed":
        await closeSuperseded(payment);
        return;
      case "captured":
      case "review":
        await clearCheck(payment);
        return;
      default:
        assertNever(payment.status, "payment status");
    }
  };

  const rescheduleRefund = (refund: RefundRecord, at: Date, update: { status?: RefundRecord["status"] } = {}): Promise<void> =>
    inTransaction(async (tx) => {
      const current = await deps.store.loadRefund(tx, refund.refundRef, { forUpdate: true });
      if (current?.status !== refund.status) return;
      await deps.store.updateRefund(tx, refund.refundRef, { ...update, nextCheckAt: at }, deps.clock());
    });

  const refund = async (refundRow: RefundRecord): Promise<void> => {
    if (refundRow.status === "succeeded" || refundRow.status === "failed") {
      await inTransaction((tx) => deps.store.updateRefund(tx, refundRow.refundRef, { nextCheckAt: null }, deps.clock()));
      return;
    }
    const payment = await deps.store.loadPayment(deps.pool, refundRow.paymentId, { forUpdate: false });
    if (payment === undefined) throw new Error(`refund ${refundRow.refundRef} names payment ${refundRow.paymentId}, which has no row`);
    const request = {
      paymentId: payment.paymentId,
      refundRef: providerRefundNo(refundRow.refundRef),
      amount: refundRow.amount,
      paymentAmount: payment.amount,
      reason: refundRow.reason,
      notifyUrl: deps.notifyUrl(payment.provider),
    };
    const sending = refundRow.status === "requested";
    const result = await call(payment, sending ? "refund" : "query_refund", (adapter) => (sending ? adapter.refund(request) : adapter.queryRefund(request)));
    const now = deps.clock();
    if (result.ok) {
      await inTransaction(async (tx) => {
        const outcome = await applyRefundReport(deps, tx, payment.paymentId, result.value);
        const current = await deps.store.loadRefund(tx, refundRow.refundRef, { forUpdate: true });
        // Still processing and not rescheduled by the report (it only held the lease): ask again later.
        if (current?.status === "processing" && outcome.code === "ignored" && outcome.followUp !== true) {
          await deps.store.updateRefund(tx, refundRow.refundRef, { nextCheckAt: after(now, deps.timings.queryIntervalMs) }, now);
        }
      });
      return;
    }
    const error = result.error;
    if (sending && error.code === "rejected") {
      await inTransaction(async (tx) => {
        const current = await deps.store.loadRefund(tx, refundRow.refundRef, { forUpdate: true });
        if (current?.status !== "requested") return;
        await deps.store.updateRefund(tx, refundRow.refundRef, { status: "failed", failureReason: describeCallError(error), providerStatus: error.providerCode, nextCheckAt: null }, now);
        await deps.outbox.append(tx, [
          {
            type: "refund_failed",
            paymentId: payment.paymentId,
            orderId: refundRow.orderId,
            refundRef: refundRow.refundRef,
            reasonCode: "refund_rejected",
            providerMessage: `${error.providerCode}: ${error.message}`,
          },
        ]);
      });
      return;
    }
    if (!sending && error.code === "not_found") {
      if (refundRow.providerStatus === undefined) {
        // Our refund call's outcome was unknown and the provider does not know it: it never
        // arrived, send it again under the same refund number.
        await rescheduleRefund(refundRow, now, { status: "requested" });
        return;
      }
      // The provider accepted it once; "not found" now contradicts that (a provider that lost
      // it, an adapter that forgot how to ask): never send an accepted refund twice — keep asking.
      deps.logger?.warn({ refundRef: refundRow.refundRef, provider: payment.provider }, "payment-routing: an accepted refund is not found at the provider; asking again later");
      await rescheduleRefund(refundRow, after(now, deps.timings.queryIntervalMs));
      return;
    }
    // Sent but unknown → query it next time (`processing`); not sent → send again.
    await rescheduleRefund(refundRow, after(now, deps.timings.unknownRetryMs), sending && error.code !== "unreachable" ? { status: "processing" } : {});
  };

  return { create, check, refund };
}
