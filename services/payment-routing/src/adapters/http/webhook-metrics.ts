import { metrics, type Counter, type Meter } from "@opentelemetry/api";
import type { ProviderId } from "@tributary/contracts";
import type { NotificationOutcome, RejectionReason } from "./webhook-decision.js";

/** One counted notification: its provider, outcome, and why when it was refused or failed. */
export interface CountedNotification {
  readonly provider: ProviderId;
  readonly outcome: NotificationOutcome;
  /**
   * The rejection reason for `rejected` (or `unreadable_request`: the framework refused the
   * request before it reached verification — too large, cut off); `deferred` and `error` carry a
   * short reason of their own (`internal`: an unexpected exception outside the transaction).
   */
  readonly reason?: RejectionReason | "unreadable_request" | "effects_retry_later" | "database" | "internal";
}

/**
 * Counts every notification the webhook server handled, by provider, outcome and reason: as the
 * OpenTelemetry counter `tributary.webhook.notifications` (exported wherever the service's meter
 * provider sends it) and as an in-process tally the tests and an operator endpoint can read.
 */
export class WebhookMetrics {
  private readonly counter: Counter;
  private readonly tally = new Map<string, number>();

  constructor(meter: Meter = metrics.getMeter("@tributary/payment-routing")) {
    this.counter = meter.createCounter("tributary.webhook.notifications", {
      description: "Provider notifications handled by the webhook server, by provider, outcome and reason.",
      unit: "{notification}",
    });
  }

  record(counted: CountedNotification): void {
    this.counter.add(1, {
      "tributary.provider": counted.provider,
      "tributary.webhook.outcome": counted.outcome,
      ...(counted.reason === undefined ? {} : { "tributary.webhook.reason": counted.reason }),
    });
    const key = tallyKey(counted.provider, counted.outcome, counted.reason);
    this.tally.set(key, (this.tally.get(key) ?? 0) + 1);
  }

  /**
   * How many notifications were counted with this provider and outcome (and reason, when given;
   * without one, every reason together).
   */
  count(provider: ProviderId, outcome: NotificationOutcome, reason?: CountedNotification["reason"]): number {
    if (reason !== undefined) return this.tally.get(tallyKey(provider, outcome, reason)) ?? 0;
    const prefix = `${provider}/${outcome}/`;
    let total = 0;
    for (const [key, value] of this.tally) if (key.startsWith(prefix)) total += value;
    return total;
  }

  /** Every non-zero count, keyed `provider/outcome/reason` (reason empty when none). */
  snapshot(): Readonly<Record<string, number>> {
    return Object.fromEntries([...this.tally].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

function tallyKey(provider: ProviderId, outcome: NotificationOutcome, reason: CountedNotification["reason"]): string {
  return `${provider}/${outcome}/${reason ?? ""}`;
}
