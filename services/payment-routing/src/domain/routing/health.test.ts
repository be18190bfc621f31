import { describe, expect, it } from "vitest";
import {
  breakerAt,
  freshHealth,
  healthEffectOf,
  healthOf,
  recordAttempt,
  type AttemptKind,
  type BreakerConfig,
  type HealthConfig,
  type HealthState,
} from "./health.js";

const health: HealthConfig = { windowSize: 10, priorSuccesses: 0, priorAttempts: 0, explorationShare: 0.05 };
const breaker: BreakerConfig = { minAttempts: 4, failureRateMax: 0.5, latencyMsMax: 1_000, slowRateMax: 0.5, openMs: 30_000, probeSuccessesToClose: 2 };
const t0 = new Date("2026-12-01T00:00:00Z");
const later = (ms: number) => new Date(t0.getTime() + ms);

function record(state: HealthState, kinds: readonly AttemptKind[], at = t0, latencyMs = 100): HealthState {
  return kinds.reduce((s, kind) => recordAttempt(s, { kind, latencyMs }, at, health, breaker), state);
}

describe("what counts against a provider", () => {
  it.each<[AttemptKind, string]>([
    ["succeeded", "success"],
    ["timed_out", "provider_failure"],
    ["provider_5xx", "provider_failure"],
    ["provider_system_error", "provider_failure"],
    ["buyer_declined", "not_counted"],
    ["insufficient_balance", "not_counted"],
    ["buyer_cancelled", "not_counted"],
    ["invalid_request", "not_counted"],
  ])("%s → %s", (kind, effect) => {
    expect(healthEffectOf(kind)).toBe(effect);
  });

  it("leaves health untouched by declines and empty balances, however many", () => {
    const state = record(freshHealth, Array<AttemptKind>(50).fill("buyer_declined").concat(Array<AttemptKind>(50).fill("insufficient_balance")));
    expect(state).toBe(freshHealth);
    expect(healthOf(state, t0, health, breaker).breaker).toBe("closed");
  });
});

describe("sliding window", () => {
  it("keeps the last windowSize counted attempts and their success rate", () => {
    const state = record(freshHealth, [...Array<AttemptKind>(10).fill("provider_5xx"), ...Array<AttemptKind>(10).fill("succeeded")]);
    expect(state.samples).toHaveLength(10);
    // The breaker opened during the failures; the window slid on all the same.
    const view = healthOf(state, t0, health, breaker);
    expect(view).toMatchObject({ attempts: 10, successes: 10, successRate: 1 });
  });

  it("leans on the prior with few samples", () => {
    const withPrior = { ...health, priorSuccesses: 9, priorAttempts: 10 };
    const state = recordAttempt(freshHealth, { kind: "provider_5xx", latencyMs: 100 }, t0, withPrior, breaker);
    expect(healthOf(state, t0, withPrior, breaker).successRate).toBeCloseTo(9 / 11, 10);
    expect(healthOf(freshHealth, t0, withPrior, breaker).successRate).toBeCloseTo(0.9, 10);
  });

  it("does not mutate the state it is given", () => {
    const before = record(freshHealth, ["succeeded", "succeeded"]);
    const snapshot = structuredClone(before);
    record(before, ["provider_5xx", "succeeded"]);
    expect(before).toEqual(snapshot);
  });
});

describe("circuit breaker", () => {
  it("stays closed below minAttempts, then opens at the failure-rate threshold", () => {
    const three = record(freshHealth, ["provider_5xx", "provider_5xx", "provider_5xx"]);
    expect(three.breaker.state).toBe("closed");
    const four = record(three, ["succeeded"]);
    expect(four.breaker).toEqual({ state: "open", openedAt: t0 }); // 3 of 4 failed ≥ 50 %
  });

  it("opens on latency: slow successes count as slow, and a timeout is always slow", () => {
    const slow = record(freshHealth, ["succeeded", "succeeded", "succeeded", "succeeded"], t0, 1_500);
    expect(slow.breaker.state).toBe("open");
    const fast = record(freshHealth, ["succeeded", "succeeded", "succeeded", "succeeded"], t0, 900);
    expect(fast.breaker.state).toBe("closed");
  });

  it("turns half-open after openMs, closes after probe successes with a fresh window", () => {
    const open = record(freshHealth, Array<AttemptKind>(4).fill("provider_5xx"));
    expect(healthOf(open, later(29_999), health, breaker).breaker).toBe("open");
    expect(healthOf(open, later(30_000), health, breaker).breaker).toBe("half_open");
    const oneProbe = recordAttempt(open, { kind: "succeeded", latencyMs: 100 }, later(30_000), health, breaker);
    expect(oneProbe.breaker).toEqual({ state: "half_open", probeSuccesses: 1 });
    const closed = recordAttempt(oneProbe, { kind: "succeeded", latencyMs: 100 }, later(31_000), health, breaker);
    expect(closed.breaker).toEqual({ state: "closed" });
    expect(healthOf(closed, later(31_000), health, breaker)).toMatchObject({ attempts: 1, successes: 1 });
  });

  it("opens again on a failed probe, with a new openedAt", () => {
    const open = record(freshHealth, Array<AttemptKind>(4).fill("provider_5xx"));
    const reopened = recordAttempt(open, { kind: "timed_out", latencyMs: 5_000 }, later(40_000), health, breaker);
    expect(reopened.breaker).toEqual({ state: "open", openedAt: later(40_000) });
    expect(breakerAt(reopened.breaker, later(69_999), breaker).state).toBe("open");
  });

  it("ignores a buyer decline during a probe", () => {
    const open = record(freshHealth, Array<AttemptKind>(4).fill("provider_5xx"));
    const state = recordAttempt(open, { kind: "buyer_declined", latencyMs: 100 }, later(30_000), health, breaker);
    expect(state).toBe(open);
    expect(healthOf(state, later(30_000), health, breaker).breaker).toBe("half_open");
  });
});
