import { activeTraceParent } from "@tributary/telemetry";
import { healthKey, healthOf, freshHealth } from "../domain/routing/health.js";
import { newAttemptState, rolloutArmOf, routingRuleOf } from "./lifecycle-rules.js";
import type { LifecycleDeps, PaymentRecord, Tx } from "./ports.js";

/** What a failover did. */
export type FailOverOutcome =
  /** The next candidate's attempt is stored (queued) with its PaymentRouted; the worker creates it. */
  | { readonly code: "next_attempt"; readonly next: PaymentRecord }
  /** No candidate was left: PaymentFailed `all_providers_failed`. */
  | { readonly code: "exhausted" }
  /** The order has another live or captured attempt: this one only failed, nothing else. */
  | { readonly code: "not_needed"; readonly reason: string };

/**
 * Ends an attempt that **certainly created nothing payable** (refused, never sent, not found after
 * an unknown outcome, failed or closed at the provider before the buyer paid) and moves the order
 * to the next candidate of the stored decision: a rail not tried yet for this order, with an
 * adapter here, whose breaker is not open now. In the caller's transaction: the attempt becomes
 * `failed`, and either the next attempt (attempt + 1, queued) and its PaymentRouted are stored, or
 * PaymentFailed `all_providers_failed` is published. Never call it while the attempt's outcome is
 * unknown: that is how a buyer gets charged twice.
 *
 * Intermediate attempts publish no PaymentFailed: the order service would close the order on it,
 * and the next attempt's capture would then be a capture no order owns.
 */
export async function failOver(deps: LifecycleDeps, tx: Tx, failed: PaymentRecord, reason: string, now: Date): Promise<FailOverOutcome> {
  await deps.store.updatePayment(tx, failed.paymentId, { status: "failed", failureReason: reason, nextCheckAt: null }, now);
  const attempts = await deps.store.paymentsOfOrder(tx, failed.orderId, { forUpdate: true });
  const live = attempts.find((a) => a.paymentId !== failed.paymentId && a.status !== "failed" && a.status !== "closed");
  if (live !== undefined) return { code: "not_needed", reason: `payment ${live.paymentId} of the order is ${live.status}` };
  const policy = await deps.policySource.current();
  const tried = new Set(attempts.map((a) => a.provider));
  const book = deps.health.book();
  const next = failed.decision.candidates.find((c) => {
    if (tried.has(c.provider) || !deps.adapters.has(c.provider)) return false;
    const health = healthOf(book.get(healthKey(c.provider, failed.channel)) ?? freshHealth, now, policy.health, policy.breaker);
    return health.breaker !== "open";
  });
  if (next === undefined) {
    await deps.outbox.append(tx, [
      {
        type: "payment_failed",
        paymentId: failed.paymentId,
        orderId: failed.orderId,
        merchantId: failed.merchantId,
        provider: failed.provider,
        reasonCode: "all_providers_failed",
        providerMessage: attempts.map((a) => `${a.provider}: ${a.paymentId === failed.paymentId ? reason : (a.failureReason ?? a.status)}`).join("; "),
      },
    ]);
    return { code: "exhausted" };
  }
  const attempt = Math.max(...attempts.map((a) => a.attempt)) + 1;
  const arm = rolloutArmOf(policy, failed.decision, next);
  const payment: PaymentRecord = {
    ...failed,
    paymentId: deps.newPaymentId(),
    provider: next.provider,
    attempt,
    routingRule: routingRuleOf(next, failed.decision, arm?.rolloutId, attempt),
    rolloutId: arm?.rolloutId,
    rolloutArm: arm?.arm,
    ...newAttemptState(now, deps.timings.paymentTimeoutMs),
    // The worker's span that failed over, itself a child of the failed attempt's trace.
    traceParent: activeTraceParent() ?? failed.traceParent,
  };
  await deps.store.insertPayment(tx, payment);
  await deps.outbox.append(tx, [{ type: "payment_routed", payment }]);
  return { code: "next_attempt", next: payment };
}
