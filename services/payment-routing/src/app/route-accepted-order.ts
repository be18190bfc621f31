import { activeTraceParent } from "@tributary/telemetry";
import { route } from "../domain/routing/route.js";
import type { RoutingOrder } from "../domain/routing/routing-order.js";
import { after, rolloutArmOf, routingRuleOf, storedCandidate, storedDecisionOf } from "./lifecycle-rules.js";
import type { LifecycleDeps, PaymentRecord, Tx } from "./ports.js";

/** An accepted order as routing needs it: the routing projection plus the order's id. */
export interface AcceptedOrder extends RoutingOrder {
  readonly orderId: string;
}

/** What routing an accepted order did. */
export type RouteOutcome =
  | { readonly code: "routed"; readonly payment: PaymentRecord }
  | { readonly code: "no_eligible_provider"; readonly paymentId: string; readonly detail: string }
  | { readonly code: "ignored"; readonly reason: string };

/**
 * The first step of a payment, on `OrderAccepted`, inside the consumer's transaction (with its
 * inbox row): route the order with the current policy and this instance's provider health, then
 * store attempt 1 as a queued `creating` row and PaymentRouted in the outbox — both or neither.
 * The provider is called after the commit by the payment worker (a row committed before the call
 * is what lets a crash, a timeout or a restart be resolved by querying, never by creating
 * again elsewhere). An order that already has a payment is left alone (a redelivery under a new
 * event id), which the attempt's INSERT checks itself (one statement, no SELECT first). With no eligible rail, PaymentFailed `no_eligible_provider` names every dropped
 * rail's reasons; its payment id names the decision, no row is stored. The decision is counted
 * (`deps.metrics.routingDecision`) inside the transaction: one that rolls back and is redelivered
 * counts twice.
 */
export async function routeAcceptedOrder(deps: LifecycleDeps, tx: Tx, order: AcceptedOrder): Promise<RouteOutcome> {
  const ignoredAsKnown: RouteOutcome = { code: "ignored", reason: `order ${order.orderId} already has a payment attempt` };
  const policy = await deps.policySource.current();
  const now = deps.clock();
  const decision = route({ order, policy, health: deps.health.book(), now, random: deps.random() });
  const stored = storedDecisionOf(decision, (provider) => deps.adapters.has(provider));
  const first = decision.candidates.find((c) => deps.adapters.has(c.provider));
  if (first === undefined) {
    // Rare: only here is the order's history read first (nothing to insert it could race with).
    const existing = await deps.store.paymentsOfOrder(tx, order.orderId, { forUpdate: false });
    if (existing.length > 0) return ignoredAsKnown;
    deps.metrics.routingDecision({ provider: undefined, tier: undefined, rolloutId: undefined, rolloutArm: undefined });
    const paymentId = deps.newPaymentId();
    const detail = stored.dropped.map((d) => `${d.provider}: ${d.reasons.join(", ")}`).join("; ");
    await deps.outbox.append(tx, [
      {
        type: "payment_failed",
        paymentId,
        orderId: order.orderId,
        merchantId: order.merchantId,
        provider: undefined,
        reasonCode: "no_eligible_provider",
        providerMessage: detail,
      },
    ]);
    return { code: "no_eligible_provider", paymentId, detail };
  }
  const candidate = storedCandidate(first);
  const arm = rolloutArmOf(policy, stored, candidate);
  const payment: PaymentRecord = {
    paymentId: deps.newPaymentId(),
    orderId: order.orderId,
    merchantId: order.merchantId,
    buyerId: order.buyerId,
    provider: first.provider,
    channel: order.channel,
    attempt: 1,
    status: "creating",
    amount: order.amount,
    routingRule: routingRuleOf(candidate, stored, arm?.rolloutId, 1),
    decision: stored,
    rolloutId: arm?.rolloutId,
    rolloutArm: arm?.arm,
    buyerAction: undefined,
    providerTransactionId: undefined,
    providerStatus: undefined,
    failureReason: undefined,
    refundedMinor: 0n,
    createdAt: now,
    updatedAt: now,
    expiresAt: after(now, deps.timings.paymentTimeoutMs),
    nextCheckAt: now,
    capturedAt: undefined,
    traceParent: activeTraceParent(),
  };
  // Inserted only if the order has no attempt yet, checked in the same statement.
  if (!(await deps.store.insertFirstPayment(tx, payment))) return ignoredAsKnown;
  deps.metrics.routingDecision({ provider: first.provider, tier: first.tier, rolloutId: arm?.rolloutId, rolloutArm: arm?.arm });
  await deps.outbox.append(tx, [{ type: "payment_routed", payment }]);
  return { code: "routed", payment };
}
