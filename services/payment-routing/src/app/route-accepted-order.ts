import { context, type Context } from "@opentelemetry/api";
import { activeTraceParent } from "@tributary/telemetry";
import { route } from "../domain/routing/route.js";
import type { RoutingOrder } from "../domain/routing/routing-order.js";
import { newAttemptState, rolloutArmOf, routingRuleOf, storedCandidate, storedDecisionOf } from "./lifecycle-rules.js";
import type { LifecycleDeps, PaymentEvent, PaymentRecord, RoutingDecisionMetric, StoredDecision, Tx } from "./ports.js";

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
  const [outcome] = await routeAcceptedOrders(deps, tx, [{ order, traceContext: undefined }]);
  return outcome!;
}

/** One accepted order of a batch and the trace its work continues (undefined: the active one). */
export interface AcceptedOrderInTrace {
  readonly order: AcceptedOrder;
  readonly traceContext: Context | undefined;
}

/**
 * {@link routeAcceptedOrder} for a run of accepted orders in one transaction (the consumer's
 * chunk): the same decisions, one at a time in the order given, but their first attempts go in
 * ONE INSERT and their PaymentRouted in ONE outbox append — three statements for the run instead
 * of three per order. Each attempt stores the traceparent of its own `traceContext`, and its
 * PaymentRouted continues that trace, so every order keeps a trace of its own. A run holding
 * two orders with the same id inserts both and meets `payments_one_active_per_order`: the
 * transaction fails, and the consumer applies the events one by one.
 */
export async function routeAcceptedOrders(deps: LifecycleDeps, tx: Tx, orders: readonly AcceptedOrderInTrace[]): Promise<RouteOutcome[]> {
  const outcomes: (RouteOutcome | undefined)[] = [];
  const attempts: { readonly index: number; readonly payment: PaymentRecord; readonly metric: RoutingDecisionMetric; readonly traceContext: Context | undefined }[] = [];
  const policy = await deps.policySource.current();
  for (const [index, { order, traceContext }] of orders.entries()) {
    const now = deps.clock();
    const decision = route({ order, policy, health: deps.health.book(), now, random: deps.random() });
    const stored = storedDecisionOf(decision, (provider) => deps.adapters.has(provider));
    const first = decision.candidates.find((c) => deps.adapters.has(c.provider));
    if (first === undefined) {
      outcomes.push(await noEligibleProvider(deps, tx, order, stored.dropped, traceContext));
      continue;
    }
    const candidate = storedCandidate(first);
    const arm = rolloutArmOf(policy, stored, candidate);
    const payment: PaymentRecord = {
      paymentId: deps.newPaymentId(),
      orderId: order.orderId,
      merchantId: order.merchantId,
      buyerId: order.buyerId,
      buyerAccounts: order.buyerAccounts,
      provider: first.provider,
      channel: order.channel,
      attempt: 1,
      amount: order.amount,
      routingRule: routingRuleOf(candidate, stored, arm?.rolloutId, 1),
      decision: stored,
      rolloutId: arm?.rolloutId,
      rolloutArm: arm?.arm,
      ...newAttemptState(now, deps.timings.paymentTimeoutMs),
      traceParent: traceContext === undefined ? activeTraceParent() : traceParentOf(traceContext),
    };
    outcomes.push(undefined);
    attempts.push({ index, payment, metric: { provider: first.provider, tier: first.tier, rolloutId: arm?.rolloutId, rolloutArm: arm?.arm }, traceContext });
  }
  // Inserted only where the order has no attempt yet, checked in the same statement.
  const inserted = await deps.store.insertFirstPayments(tx, attempts.map((a) => a.payment));
  const routed: (PaymentEvent & { readonly traceContext?: Context })[] = [];
  for (const { index, payment, metric, traceContext } of attempts) {
    if (!inserted.has(payment.paymentId)) {
      outcomes[index] = { code: "ignored", reason: `order ${payment.orderId} already has a payment attempt` };
      continue;
    }
    deps.metrics.routingDecision(metric);
    routed.push(traceContext === undefined ? { type: "payment_routed", payment } : { type: "payment_routed", payment, traceContext });
    outcomes[index] = { code: "routed", payment };
  }
  await deps.outbox.append(tx, routed);
  return outcomes.map((outcome) => outcome!);
}

/** No rail is eligible: PaymentFailed naming every dropped rail's reasons, unless the order has an attempt already. */
async function noEligibleProvider(
  deps: LifecycleDeps,
  tx: Tx,
  order: AcceptedOrder,
  dropped: StoredDecision["dropped"],
  traceContext: Context | undefined,
): Promise<RouteOutcome> {
  // Rare: only here is the order's history read first (there is no INSERT to check it).
  const existing = await deps.store.paymentsOfOrder(tx, order.orderId, { forUpdate: false });
  if (existing.length > 0) return { code: "ignored", reason: `order ${order.orderId} already has a payment attempt` };
  deps.metrics.routingDecision({ provider: undefined, tier: undefined, rolloutId: undefined, rolloutArm: undefined });
  const paymentId = deps.newPaymentId();
  const detail = dropped.map((d) => `${d.provider}: ${d.reasons.join(", ")}`).join("; ");
  const failed: PaymentEvent = {
    type: "payment_failed",
    paymentId,
    orderId: order.orderId,
    merchantId: order.merchantId,
    provider: undefined,
    reasonCode: "no_eligible_provider",
    providerMessage: detail,
  };
  await deps.outbox.append(tx, [traceContext === undefined ? failed : { ...failed, traceContext }]);
  return { code: "no_eligible_provider", paymentId, detail };
}

/** The W3C traceparent of the span in `traceContext`, as the attempt stores it. */
function traceParentOf(traceContext: Context): string | undefined {
  return context.with(traceContext, () => activeTraceParent());
}
