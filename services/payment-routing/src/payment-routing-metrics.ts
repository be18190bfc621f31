import { metrics, type Attributes, type Meter, type ObservableResult } from "@opentelemetry/api";
import type { ProviderId } from "@tributary/contracts";
import { assertNever } from "@tributary/result";
import type { HealthTracker } from "./app/health-tracker.js";
import type { LifecycleMetrics, PaymentEvent, PaymentOutbox } from "./app/ports.js";
import type { BreakerState } from "./domain/routing/health.js";

/** Bucket boundaries of `payment_routing.provider.call.duration`, in seconds (provider timeouts are ~10 s). */
const callDurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** `payment_routing.breaker.state` values: what an alert compares against. */
const breakerValue: Readonly<Record<BreakerState["state"], number>> = { closed: 0, half_open: 1, open: 2 };

/** What the service's metrics read besides the lifecycle's own calls. */
export interface PaymentRoutingMetricsOptions {
  /** The instance's health tracker: the breaker gauge reads it at each collection. */
  readonly health: HealthTracker;
  /** The providers this instance has adapters for; each reports its breaker on every channel. */
  readonly providers: readonly ProviderId[];
  readonly clock: () => Date;
  /** `@tributary/payment-routing` on the global meter provider unless told. */
  readonly meter?: Meter;
}

/** The running instruments of one payment-routing instance. */
export interface PaymentRoutingMetrics {
  /** Backs the lifecycle's {@link LifecycleMetrics} port. */
  readonly lifecycle: LifecycleMetrics;
  /** Wraps the outbox so every lifecycle event appended is counted in `payment_routing.payments`. */
  countingOutbox(outbox: PaymentOutbox): PaymentOutbox;
  /** Removes the breaker gauge's callback (the counters stay; the SDK owns them). */
  stop(): Promise<void>;
}

/** The `outcome` (and `reason`, for failures) a lifecycle event counts under. */
function paymentOutcomeOf(event: PaymentEvent): { readonly provider: ProviderId | undefined; readonly attributes: Attributes } {
  switch (event.type) {
    case "payment_routed":
      return { provider: event.payment.provider, attributes: { outcome: "routed" } };
    case "payment_captured":
      // Also a capture of an attempt that had failed or closed: money was taken all the same
      // (its refund is counted in payment_routing.unowned_capture_refunds).
      return { provider: event.payment.provider, attributes: { outcome: "captured" } };
    case "payment_failed":
      // reasonCode is one of the lifecycle's own few codes (declined, closed, all_providers_failed,
      // no_eligible_provider, timed_out), never provider text, so it is safe as a label.
      return event.reasonCode === "timed_out"
        ? { provider: event.provider, attributes: { outcome: "timed_out" } }
        : { provider: event.provider, attributes: { outcome: "failed", reason: event.reasonCode } };
    case "payment_refunded":
      return { provider: event.payment.provider, attributes: { outcome: "refunded" } };
    case "refund_failed":
      // RefundFailed names the payment, not its provider: no provider label to give it.
      return { provider: undefined, attributes: { outcome: "refund_failed", reason: event.reasonCode } };
    default:
      return assertNever(event, "payment event");
  }
}

/**
 * The instruments an SRE reads for payment-routing, on the global meter provider (so on the health
 * port's `/metrics`), made when the service starts — a meter taken at module load, before
 * telemetry started, could stay a no-op:
 * - `payment_routing.payments` {payment} by `provider` (`none` when no rail was eligible or the
 *   event names none) and `outcome` (`routed` — each attempt, failovers included —, `captured`,
 *   `failed` with `reason`, `timed_out`, `refunded`, `refund_failed` with `reason`);
 * - `payment_routing.routing.decisions` {decision} by `provider` (or `none`), `tier` (`trial`,
 *   `preferred`, `ranked`, `probe`, `none`), `rollout` (the trial roll-out's id, or `none`) and
 *   `arm` (`treatment`, `control`, `none`): the roll-out's share is treatment / (treatment + control);
 * - `payment_routing.provider.call.duration` (s) by `provider` and `call`, around each adapter call;
 * - `payment_routing.breaker.state` by `provider` and `channel`: 0 closed, 1 half-open, 2 open,
 *   from this instance's in-memory health tracker at collection time;
 * - `payment_routing.provider_calls` and `payment_routing.unowned_capture_refunds`, as before.
 *
 * Payments are counted when their event is appended to the outbox, inside the transaction that
 * makes the change — not after its commit: the consumer's and the webhook's transactions belong
 * to other code, which offers no after-commit hook. A transaction that rolls back after the
 * append (a failing later statement, a redelivered event) has counted, and its retry counts
 * again; the counter can run ahead of the committed changes, never behind them. The events on
 * `payments.v1` are the exact record.
 */
export function startPaymentRoutingMetrics(options: PaymentRoutingMetricsOptions): PaymentRoutingMetrics {
  const meter = options.meter ?? metrics.getMeter("@tributary/payment-routing");
  const unowned = meter.createCounter("payment_routing.unowned_capture_refunds", {
    description: "Captures no order owns (late after close, second capture, CaptureRefundRequested) whose full refund was queued",
  });
  const calls = meter.createCounter("payment_routing.provider_calls", { description: "Provider calls by provider, call and outcome code" });
  const callDuration = meter.createHistogram("payment_routing.provider.call.duration", {
    description: "Duration of each provider adapter call (HTTP, signing, parsing), by provider and call.",
    unit: "s",
    advice: { explicitBucketBoundaries: callDurationBuckets },
  });
  const decisions = meter.createCounter("payment_routing.routing.decisions", {
    description: "Routing decisions for accepted orders, by chosen provider, tier and roll-out arm.",
    unit: "{decision}",
  });
  const payments = meter.createCounter("payment_routing.payments", {
    description: "Payment lifecycle changes by provider and outcome (reason for failures), counted in the transaction that makes them.",
    unit: "{payment}",
  });
  const breaker = meter.createObservableGauge("payment_routing.breaker.state", {
    description: "Circuit breaker per provider and channel in this instance: 0 closed, 1 half-open, 2 open.",
  });
  const observeBreakers = (result: ObservableResult): void => {
    for (const { provider, channel, health } of options.health.snapshot(options.providers, options.clock())) {
      result.observe(breakerValue[health.breaker], { provider, channel });
    }
  };
  breaker.addCallback(observeBreakers);

  const lifecycle: LifecycleMetrics = {
    unownedCaptureRefunded: (provider, reason) => unowned.add(1, { provider, reason }),
    providerCall: (provider, call, outcome, durationS) => {
      calls.add(1, { provider, call, outcome });
      callDuration.record(durationS, { provider, call });
    },
    routingDecision: (decision) =>
      decisions.add(1, {
        provider: decision.provider ?? "none",
        tier: decision.tier ?? "none",
        rollout: decision.rolloutId ?? "none",
        arm: decision.rolloutArm ?? "none",
      }),
  };
  return {
    lifecycle,
    countingOutbox: (outbox) => ({
      async append(tx, events) {
        await outbox.append(tx, events);
        for (const event of events) {
          const { provider, attributes } = paymentOutcomeOf(event);
          payments.add(1, { provider: provider ?? "none", ...attributes });
        }
      },
    }),
    stop: () => {
      breaker.removeCallback(observeBreakers);
      return Promise.resolve();
    },
  };
}
