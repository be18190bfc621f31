import { unwrap } from "@tributary/result";
import { describe, expect, it } from "vitest";
import { decidePolicyChange, evolvePolicy, GUARDRAIL_ACTOR, type PolicyCommand } from "./decide-policy-change.js";
import { exampleMerchantIds, examplePolicy } from "./example-policy.js";
import { evaluateGuardrail, type GuardrailEvaluation } from "./guardrail.js";
import { activeStepIndex } from "./rollout.js";
import type { RoutingPolicy } from "./routing-policy.js";

const refs = { merchantIds: exampleMerchantIds };
const current = examplePolicy();
const atStep1 = new Date("2026-12-09T00:00:00Z"); // 10 % step
const later = new Date("2026-12-30T00:00:00Z"); // schedule says 100 %
const guardrail = current.rollouts[0]!.guardrail;
const worse: GuardrailEvaluation = evaluateGuardrail({ attempts: 5_000, successes: 4_500 }, { attempts: 5_000, successes: 4_800 }, guardrail);
const equal: GuardrailEvaluation = evaluateGuardrail({ attempts: 5_000, successes: 4_790 }, { attempts: 5_000, successes: 4_800 }, guardrail);
const pause = (evaluation: GuardrailEvaluation, at = atStep1): PolicyCommand => ({ type: "pause_rollout_by_guardrail", rolloutId: "ecny-2026", evaluation, at });

function apply(policy: RoutingPolicy, command: PolicyCommand): RoutingPolicy {
  return unwrap(decidePolicyChange(policy, command, refs)).reduce(evolvePolicy, policy);
}

describe("guardrail pause", () => {
  it("turns a significantly worse rail into RolloutPaused, audited, holding the ramp at its step", () => {
    expect(worse.verdict).toBe("pause");
    const events = unwrap(decidePolicyChange(current, pause(worse), refs));
    expect(events).toHaveLength(1);
    const event = events[0]!;
    if (event.type !== "rollout_paused") throw new Error(event.type);
    expect(event).toMatchObject({ rolloutId: "ecny-2026", heldStepIndex: 1, evaluation: worse });
    expect(event.audit).toMatchObject({ actor: GUARDRAIL_ACTOR, at: atStep1, action: "pause_rollout_by_guardrail", versionBefore: 1, versionAfter: 2, before: current });
    expect(event.audit.reason).toMatch(/^guardrail: new rail 90 % of 5000, control 96 % of 5000/);
    const after = evolvePolicy(current, event);
    expect(after.rollouts[0]!.pause).toEqual({ pausedAt: atStep1, heldStepIndex: 1, reason: event.audit.reason, by: "guardrail" });
    expect(activeStepIndex(after.rollouts[0]!, later)).toBe(1);
    expect(current.rollouts[0]!.pause).toBeUndefined(); // not mutated
  });

  it("does nothing for an equal rail, or for a roll-out already paused", () => {
    expect(equal.verdict).toBe("continue");
    expect(unwrap(decidePolicyChange(current, pause(equal), refs))).toEqual([]);
    const paused = apply(current, pause(worse));
    expect(unwrap(decidePolicyChange(paused, pause(worse, later), refs))).toEqual([]);
  });

  it("refuses an unknown roll-out", () => {
    expect(decidePolicyChange(current, { ...pause(worse), rolloutId: "nope" } as PolicyCommand, refs)).toMatchObject({ ok: false, error: { code: "rollout_not_found", rolloutId: "nope" } });
  });
});

describe("operator resume", () => {
  it("clears the pause, audited with the operator, and the ramp follows its schedule again", () => {
    const paused = apply(current, pause(worse));
    const resume: PolicyCommand = { type: "resume_rollout", rolloutId: "ecny-2026", actor: "ops:li.wei", at: later, reason: "fixed the e-CNY timeout" };
    const events = unwrap(decidePolicyChange(paused, resume, refs));
    expect(events.map((e) => e.type)).toEqual(["rollout_resumed"]);
    expect(events[0]!.audit).toMatchObject({ actor: "ops:li.wei", at: later, versionBefore: 2, versionAfter: 3, before: paused, reason: "fixed the e-CNY timeout" });
    const resumed = events.reduce(evolvePolicy, paused);
    expect(resumed.rollouts[0]!.pause).toBeUndefined();
    expect(activeStepIndex(resumed.rollouts[0]!, later)).toBe(3);
    expect(unwrap(decidePolicyChange(resumed, resume, refs))).toEqual([]);
  });
});

describe("policy change", () => {
  const change = (next: RoutingPolicy, expectedVersion = 1): PolicyCommand => ({
    type: "change_policy",
    actor: "ops:zhang.min",
    at: atStep1,
    reason: "open JD Pay to m-small-2",
    expectedVersion,
    next,
  });
  const next: RoutingPolicy = { ...current, merchants: [current.merchants[0]!, { merchantId: "m-small-2", enabledProviders: ["alipay", "wechat_pay", "jd_pay"] }] };

  it("sets the next version and audits who, when, before and after", () => {
    const events = unwrap(decidePolicyChange(current, change({ ...next, version: 99 }), refs));
    expect(events).toEqual([
      {
        type: "policy_changed",
        audit: { actor: "ops:zhang.min", at: atStep1, action: "change_policy", reason: "open JD Pay to m-small-2", versionBefore: 1, versionAfter: 2, before: current, after: { ...next, version: 2 } },
      },
    ]);
  });

  it("refuses a change made against another version", () => {
    expect(decidePolicyChange(current, change(next, 0), refs)).toMatchObject({ ok: false, error: { code: "policy_version_conflict", currentVersion: 1 } });
  });

  it("refuses an invalid next policy with the field, and changes nothing", () => {
    const backwards = { ...current, rollouts: [{ ...current.rollouts[0]!, ramp: [current.rollouts[0]!.ramp[1]!, current.rollouts[0]!.ramp[0]!] }] };
    const result = decidePolicyChange(current, change(backwards), refs);
    expect(result).toMatchObject({ ok: false, error: { code: "invalid_policy" } });
    if (!result.ok && result.error.code === "invalid_policy") {
      expect(result.error.fieldViolations.map((v) => v.field)).toEqual(["rollouts[0].ramp[1].startsAt", "rollouts[0].ramp[1].percent"]);
    }
  });
});
