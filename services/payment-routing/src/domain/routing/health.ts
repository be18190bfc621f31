import type { ProviderId } from "@tributary/contracts";
import { assertNever } from "@tributary/result";
import type { Channel } from "./routing-order.js";

/**
 * How one payment attempt at a provider ended, as the adapter classified it. Only provider-side
 * failures count against a provider: a buyer's decline, an empty balance, a buyer who gave up or a
 * request we got wrong say nothing about the rail's health (Juspay's users ask for exactly this:
 * penalise PSP errors, not issuer or buyer declines).
 */
export type AttemptKind =
  | "succeeded"
  | "timed_out"
  | "provider_5xx"
  | "provider_system_error"
  | "buyer_declined"
  | "insufficient_balance"
  | "buyer_cancelled"
  | "invalid_request";

/** One finished attempt: its kind and how long the provider took to answer. */
export interface AttemptOutcome {
  readonly kind: AttemptKind;
  readonly latencyMs: number;
}

/** What an attempt means for the provider's health. */
export type HealthEffect = "success" | "provider_failure" | "not_counted";

/** Classifies an attempt for health, in one exhaustive switch (no catch-all). */
export function healthEffectOf(kind: AttemptKind): HealthEffect {
  switch (kind) {
    case "succeeded":
      return "success";
    case "timed_out":
    case "provider_5xx":
    case "provider_system_error":
      return "provider_failure";
    case "buyer_declined":
    case "insufficient_balance":
    case "buyer_cancelled":
    case "invalid_request":
      return "not_counted";
    default:
      return assertNever(kind, "attempt kind");
  }
}

/**
 * The sliding window and the ranking's prior. `windowSize` counted attempts are kept (Juspay's
 * default bucket is 125). With few samples the success rate leans on the prior:
 * `(successes + priorSuccesses) / (attempts + priorAttempts)`, so a new rail neither wins nor loses
 * everything on its first attempt. `explorationShare` of decisions (Juspay hedges 5 %) put a
 * non-leading rail first, so a recovered rail is seen again and wins its traffic back.
 */
export interface HealthConfig {
  readonly windowSize: number;
  readonly priorSuccesses: number;
  readonly priorAttempts: number;
  readonly explorationShare: number;
}

/**
 * The circuit breaker. It opens once the window holds at least `minAttempts` and the provider
 * failure rate reaches `failureRateMax` or the share of attempts slower than `latencyMsMax` (a
 * timeout is always slow) reaches `slowRateMax`. After `openMs` it is half-open: the rail is
 * offered again, behind every closed rail, as a probe; `probeSuccessesToClose` successes in a row
 * close it (with a fresh window), one provider failure opens it again.
 */
export interface BreakerConfig {
  readonly minAttempts: number;
  readonly failureRateMax: number;
  readonly latencyMsMax: number;
  readonly slowRateMax: number;
  readonly openMs: number;
  readonly probeSuccessesToClose: number;
}

/** A breaker as stored; "open" turns into "half-open" by time alone (see {@link breakerAt}). */
export type BreakerState =
  | { readonly state: "closed" }
  | { readonly state: "open"; readonly openedAt: Date }
  | { readonly state: "half_open"; readonly probeSuccesses: number };

/** One counted attempt in the window. */
export interface HealthSample {
  readonly success: boolean;
  readonly slow: boolean;
}

/**
 * A provider's health on one channel: the window (oldest first, at most `windowSize`) with its
 * counts kept alongside, so reading health is O(1) on the routing path, and the breaker.
 */
export interface HealthState {
  readonly samples: readonly HealthSample[];
  readonly successCount: number;
  readonly slowCount: number;
  readonly breaker: BreakerState;
}

/** A provider no attempt has been recorded for: empty window, breaker closed. */
export const freshHealth: HealthState = Object.freeze({
  samples: Object.freeze([]),
  successCount: 0,
  slowCount: 0,
  breaker: Object.freeze({ state: "closed" }),
});

/** The key of a provider's health on a channel in a {@link HealthBook}. */
export function healthKey(provider: ProviderId, channel: Channel): string {
  return `${provider}/${channel}`;
}

/** Every provider-and-channel health the router reads; a missing key is {@link freshHealth}. */
export type HealthBook = ReadonlyMap<string, HealthState>;

/** The breaker as it stands at `at`: an open breaker whose `openMs` has passed is half-open. */
export function breakerAt(breaker: BreakerState, at: Date, config: BreakerConfig): BreakerState {
  if (breaker.state === "open" && at.getTime() - breaker.openedAt.getTime() >= config.openMs) {
    return { state: "half_open", probeSuccesses: 0 };
  }
  return breaker;
}

function appendSample(state: HealthState, sample: HealthSample, windowSize: number, breaker: BreakerState): HealthState {
  const dropped = state.samples.length >= windowSize ? state.samples[0] : undefined;
  const kept = dropped === undefined ? state.samples : state.samples.slice(1);
  return {
    samples: [...kept, sample],
    successCount: state.successCount + (sample.success ? 1 : 0) - (dropped?.success === true ? 1 : 0),
    slowCount: state.slowCount + (sample.slow ? 1 : 0) - (dropped?.slow === true ? 1 : 0),
    breaker,
  };
}

function shouldOpen(state: HealthState, config: BreakerConfig): boolean {
  const attempts = state.samples.length;
  if (attempts < config.minAttempts || attempts === 0) return false;
  const failureRate = (attempts - state.successCount) / attempts;
  const slowRate = state.slowCount / attempts;
  return failureRate >= config.failureRateMax || slowRate >= config.slowRateMax;
}

/**
 * The health after one more finished attempt at `at`. Attempts that do not count (buyer-side
 * outcomes) return the state unchanged. Pure: the old state is not touched.
 */
export function recordAttempt(
  state: HealthState,
  outcome: AttemptOutcome,
  at: Date,
  health: HealthConfig,
  config: BreakerConfig,
): HealthState {
  const effect = healthEffectOf(outcome.kind);
  if (effect === "not_counted") return state;
  const success = effect === "success";
  const sample: HealthSample = { success, slow: outcome.kind === "timed_out" || outcome.latencyMs > config.latencyMsMax };
  const breaker = breakerAt(state.breaker, at, config);
  switch (breaker.state) {
    case "closed": {
      const next = appendSample(state, sample, health.windowSize, breaker);
      return shouldOpen(next, config) ? { ...next, breaker: { state: "open", openedAt: at } } : next;
    }
    case "open":
      // An answer to an attempt sent before the breaker opened: recorded, the breaker stays open.
      return appendSample(state, sample, health.windowSize, breaker);
    case "half_open": {
      if (!success || sample.slow) {
        return appendSample(state, sample, health.windowSize, { state: "open", openedAt: at });
      }
      const probeSuccesses = breaker.probeSuccesses + 1;
      if (probeSuccesses >= config.probeSuccessesToClose) {
        // Closed with a fresh window: the failures that opened it are history, not the present.
        return appendSample(freshHealth, sample, health.windowSize, { state: "closed" });
      }
      return appendSample(state, sample, health.windowSize, { state: "half_open", probeSuccesses });
    }
    default:
      return assertNever(breaker, "breaker state");
  }
}

/**
 * What the router reads: the breaker at `now`, the window's counts, and the success rate with its
 * prior as an exact fraction `rateSuccesses / rateAttempts` (the expected-value comparison stays in
 * integers) and as a number for explanations.
 */
export interface ProviderHealth {
  readonly breaker: BreakerState["state"];
  readonly attempts: number;
  readonly successes: number;
  readonly rateSuccesses: number;
  readonly rateAttempts: number;
  readonly successRate: number;
}

/** The health of a provider at `now`, for ranking and explanations. */
export function healthOf(state: HealthState, now: Date, health: HealthConfig, config: BreakerConfig): ProviderHealth {
  const rateSuccesses = state.successCount + health.priorSuccesses;
  const rateAttempts = state.samples.length + health.priorAttempts;
  return {
    breaker: breakerAt(state.breaker, now, config).state,
    attempts: state.samples.length,
    successes: state.successCount,
    rateSuccesses,
    rateAttempts,
    successRate: rateAttempts === 0 ? 0 : rateSuccesses / rateAttempts,
  };
}
