import type { ProviderId } from "@tributary/contracts";
import {
  freshHealth,
  healthKey,
  healthOf,
  recordAttempt,
  type AttemptOutcome,
  type BreakerConfig,
  type HealthBook,
  type HealthConfig,
  type HealthState,
  type ProviderHealth,
} from "../domain/routing/health.js";
import { CHANNELS, type Channel } from "../domain/routing/routing-order.js";

/**
 * The process's view of each provider's (and channel's) health: the lifecycle records every
 * finished provider call here, routing reads {@link book}, `ListProviderHealth` reads
 * {@link snapshot}. Per instance, in memory: each instance judges the rails by the attempts it made
 * itself (a restarted instance starts from the policy's prior), which needs no shared row every
 * call would write.
 */
export interface HealthTracker {
  record(provider: ProviderId, channel: Channel, outcome: AttemptOutcome, at: Date): void;
  /** The states as routing reads them. */
  book(): HealthBook;
  /** Every provider × channel seen or configured, as its health at `now`. */
  snapshot(providers: readonly ProviderId[], now: Date): readonly ProviderChannelHealth[];
}

export interface ProviderChannelHealth {
  readonly provider: ProviderId;
  readonly channel: Channel;
  readonly health: ProviderHealth;
}

/** The settings the tracker applies; the current policy's `health` and `breaker`. */
export interface HealthSettings {
  readonly health: HealthConfig;
  readonly breaker: BreakerConfig;
}

/** A tracker whose settings come from `settings()` (the current policy) on every call. */
export function createHealthTracker(settings: () => HealthSettings): HealthTracker {
  const states = new Map<string, HealthState>();
  return {
    record(provider, channel, outcome, at) {
      const key = healthKey(provider, channel);
      const { health, breaker } = settings();
      states.set(key, recordAttempt(states.get(key) ?? freshHealth, outcome, at, health, breaker));
    },
    book: () => states,
    snapshot(providers, now) {
      const { health, breaker } = settings();
      return providers.flatMap((provider) =>
        CHANNELS.map((channel) => ({
          provider,
          channel,
          health: healthOf(states.get(healthKey(provider, channel)) ?? freshHealth, now, health, breaker),
        })),
      );
    },
  };
}
