/**
 * The routing policy's store against the real database and broker: the seed, the transaction that
 * holds Prisma's writes and the outbox append together, optimistic versions, the guardrail
 * monitor pausing a roll-out from payments rows (audited, published) and not re-pausing a resumed
 * one on old data, and the cached source picking up another instance's change.
 */
import { create } from "@bufbuild/protobuf";
import { routingTopic } from "@tributary/contracts";
import { RoutingPolicyChangedSchema, type RolloutPaused } from "@tributary/contracts/payment/v1/routing_events";
import { appendToOutbox, newEventId } from "@tributary/events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROUTING_POLICY_KEY } from "../src/adapters/prisma/routing-event-messages.js";
import { applyPolicyCommand } from "../src/app/policy/apply-policy-command.js";
import { checkGuardrails } from "../src/app/policy/guardrail-monitor.js";
import { policyToJson } from "../src/app/policy/policy-json.js";
import { GUARDRAIL_ACTOR } from "../src/domain/routing/decide-policy-change.js";
import { examplePolicy } from "../src/domain/routing/example-policy.js";
import { PRODUCER, seedPayments, startPolicyTestEnv, type PolicyTestEnv, type SeedPayment } from "./policy-test-env.js";

let env: PolicyTestEnv;

beforeAll(async () => {
  env = await startPolicyTestEnv();
});

afterAll(async () => {
  await env?.stop();
});

async function versions(): Promise<{ version: number; created_by: string }[]> {
  const result = await env.pool.query("SELECT version, created_by FROM routing_policy_versions ORDER BY version");
  return result.rows as { version: number; created_by: string }[];
}

/** `count` payments of one arm: `successes` captured, the rest failed with `failureReason`. */
function arm(rolloutId: string, rolloutArm: "treatment" | "control", count: number, successes: number, createdAt: Date, failureReason = "outcome_unknown: no answer in time (10000 ms)"): SeedPayment[] {
  return Array.from({ length: count }, (_, i) =>
    i < successes
      ? { status: "captured" as const, rolloutId, rolloutArm, createdAt }
      : { status: "failed" as const, rolloutId, rolloutArm, createdAt, failureReason },
  );
}

describe("the policy store", () => {
  it("seeds version 1 once; another instance with another seed keeps what is stored", async () => {
    expect(await versions()).toEqual([{ version: 1, created_by: "system:seed" }]);
    const other = await env.openStore(examplePolicy());
    try {
      const seen = await other.source.current();
      expect(seen.version).toBe(1);
      expect(seen.rollouts[0]?.rolloutId).toBe(env.rolloutId);
    } finally {
      await other.stop();
    }
    expect(await versions()).toEqual([{ version: 1, created_by: "system:seed" }]);
  });

  it("runs Prisma's writes and the outbox append in one transaction: same transaction id, rolled back together", async () => {
    const eventId = newEventId();
    const reason = `rollback-probe-${eventId}`;
    const policy = await env.store.source.current();
    const attempt = env.store.database.transaction(async ({ prisma, connection }) => {
      const [viaPrisma] = await prisma.$queryRaw<{ txid: string }[]>`SELECT txid_current()::text AS txid`;
      const viaPg = await connection.query<{ txid: string }>("SELECT txid_current()::text AS txid");
      expect(viaPrisma?.txid).toBe(viaPg.rows[0]?.txid);
      await prisma.routingAudit.create({
        data: { at: new Date(), actor: "test", action: "change", fromVersion: 1, toVersion: 2, reason, before: policyToJson(policy), after: policyToJson(policy) },
      });
      await appendToOutbox(connection, PRODUCER, routingTopic, [
        { key: ROUTING_POLICY_KEY, eventId, schema: RoutingPolicyChangedSchema, message: create(RoutingPolicyChangedSchema, { reason }) },
      ]);
      throw new Error("planted failure after both writes");
    });
    await expect(attempt).rejects.toThrow("planted failure");
    expect((await env.pool.query("SELECT 1 FROM routing_audit WHERE reason = $1", [reason])).rowCount).toBe(0);
    expect((await env.pool.query("SELECT 1 FROM outbox WHERE event_id = $1", [eventId])).rowCount).toBe(0);
  });

  it("lets one of two changes made against the same version commit; the other is a version conflict", async () => {
    const current = await env.store.source.current();
    const change = (utcOffsetMinutes: number) =>
      applyPolicyCommand(env.store.commands, {
        type: "change_policy",
        actor: `racer-${utcOffsetMinutes}`,
        at: env.clock.read(),
        reason: "race",
        expectedVersion: current.version,
        next: { ...current, utcOffsetMinutes },
      });
    const results = await Promise.all([change(540), change(600)]);
    const winners = results.filter((r) => r.ok);
    const losers = results.flatMap((r) => (r.ok ? [] : [r.error]));
    expect(winners).toHaveLength(1);
    expect(losers).toEqual([expect.objectContaining({ code: "policy_version_conflict", currentVersion: current.version + 1 })]);
    expect((await versions()).map((v) => v.version)).toEqual([1, current.version + 1]);
    const audits = await env.pool.query("SELECT actor FROM routing_audit WHERE reason = 'race'");
    expect(audits.rowCount).toBe(1);
    // Put the offset back for the tests below (China, +8 h).
    const now = await env.store.source.current();
    const restored = await applyPolicyCommand(env.store.commands, {
      type: "change_policy",
      actor: "test",
      at: env.clock.read(),
      reason: "restore",
      expectedVersion: now.version,
      next: { ...now, utcOffsetMinutes: 480 },
    });
    expect(restored.ok).toBe(true);
  });

  it("sees another instance's change within its refresh interval", async () => {
    const other = await env.openStore();
    try {
      const current = await other.source.current();
      const changed = await applyPolicyCommand(other.commands, {
        type: "change_policy",
        actor: "other-instance",
        at: env.clock.read(),
        reason: "seen elsewhere",
        expectedVersion: current.version,
        next: current,
      });
      expect(changed.ok).toBe(true);
      await expect.poll(async () => (await env.store.source.current()).version, { timeout: 10_000 }).toBe(current.version + 1);
    } finally {
      await other.stop();
    }
  });
});

describe("the guardrail monitor", () => {
  // The roll-out's second step (10 %) started 2026-12-08; the clock reads 2026-12-10 04:00.
  const inStep = new Date("2026-12-09T12:00:00Z");

  it("does not pause a roll-out whose rail is as good as the control, and counts only provider-side outcomes", async () => {
    const id = env.rolloutId;
    await seedPayments(env.pool, [
      ...arm(id, "treatment", 1_200, 1_140, inStep),
      ...arm(id, "control", 1_200, 1_140, inStep, "unreachable: connect ECONNREFUSED"),
      // None of these counts: buyer-side failures, no outcome yet, before the step, another roll-out.
      ...arm(id, "treatment", 300, 0, inStep, "rejected ACQ.BUYER_BALANCE_NOT_ENOUGH: insufficient balance"),
      ...Array.from({ length: 50 }, () => ({ status: "pending" as const, rolloutId: id, rolloutArm: "treatment" as const, createdAt: inStep })),
      ...Array.from({ length: 50 }, () => ({ status: "closed" as const, rolloutId: id, rolloutArm: "treatment" as const, createdAt: inStep })),
      ...arm(id, "treatment", 500, 0, new Date("2026-12-07T12:00:00Z")),
      ...arm(`${id}-other`, "treatment", 500, 0, inStep),
    ]);
    const before = await versions();
    const checks = await checkGuardrails(env.store.guardrail);
    expect(checks).toEqual([
      expect.objectContaining({
        rolloutId: id,
        stepIndex: 1,
        since: new Date("2026-12-08T00:00:00Z"),
        counts: { treatment: { attempts: 1_200, successes: 1_140 }, control: { attempts: 1_200, successes: 1_140 } },
        paused: false,
      }),
    ]);
    expect(checks[0]?.evaluation.verdict).toBe("continue");
    expect(await versions()).toEqual(before);
  });

  it("pauses a roll-out whose rail is significantly worse: a new version, an audit row by system:guardrail, RolloutPaused on routing.v1", async () => {
    const id = env.rolloutId;
    // Treatment 2040/2400 = 85 % against control 95 %: 10 pp worse, threshold 2 pp.
    await seedPayments(env.pool, arm(id, "treatment", 1_200, 900, inStep));
    const before = await env.store.source.refresh();
    const checks = await checkGuardrails(env.store.guardrail);
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ paused: true, counts: { treatment: { attempts: 2_400, successes: 2_040 }, control: { attempts: 1_200, successes: 1_140 } } });
    expect(checks[0]?.evaluation).toMatchObject({ verdict: "pause", reason: { code: "regression_significant" } });

    const after = await env.store.source.current();
    expect(after.version).toBe(before.version + 1);
    expect(after.rollouts[0]?.pause).toMatchObject({ by: "guardrail", heldStepIndex: 1, pausedAt: env.clock.now });

    const audit = await env.pool.query(
      "SELECT actor, action, rollout_id, from_version, to_version, reason, before, after FROM routing_audit WHERE action = 'pause_by_guardrail'",
    );
    expect(audit.rows).toHaveLength(1);
    const row = audit.rows[0] as { actor: string; rollout_id: string; from_version: number; to_version: number; reason: string; before: { rollouts: { pause: unknown }[] }; after: { rollouts: { pause: { by: string } }[] } };
    expect(row).toMatchObject({ actor: GUARDRAIL_ACTOR, rollout_id: id, from_version: before.version, to_version: before.version + 1 });
    expect(row.reason).toMatch(/^guardrail: new rail 85/);
    expect(row.before.rollouts[0]?.pause).toBeNull();
    expect(row.after.rollouts[0]?.pause.by).toBe("guardrail");

    const published = await env.routing.waitFor(
      // Other files' events are on the same topic: match this run's roll-out.
      (r) => r.type === "tributary.payment.v1.RolloutPaused" && (r.message as RolloutPaused).rolloutId === id && (r.message as RolloutPaused).toVersion === before.version + 1,
      "RolloutPaused on routing.v1",
    );
    expect(published.key).toBe(ROUTING_POLICY_KEY);
    const paused = published.message as RolloutPaused;
    expect(paused).toMatchObject({ rolloutId: id, fromVersion: before.version, heldStepIndex: 1, actor: GUARDRAIL_ACTOR });
    expect(paused.verdict).toMatchObject({ treatmentAttempts: 2_400n, treatmentSuccesses: 2_040n, controlAttempts: 1_200n, controlSuccesses: 1_140n, reasonCode: "regression_significant" });

    // A second pass finds the roll-out paused: nothing more is written.
    expect(await checkGuardrails(env.store.guardrail)).toEqual([]);
    expect((await env.store.source.refresh()).version).toBe(after.version);
  });

  it("judges a resumed roll-out on what happened after the resume, and pauses it again when that is worse", async () => {
    const id = env.rolloutId;
    env.clock.now = new Date("2026-12-10T05:00:00Z");
    const resumed = await applyPolicyCommand(env.store.commands, { type: "resume_rollout", actor: "ops-alice", at: env.clock.read(), reason: "provider fixed", rolloutId: id });
    expect(resumed.ok && resumed.value.events.map((e) => e.type)).toEqual(["rollout_resumed"]);

    env.clock.now = new Date("2026-12-10T06:00:00Z");
    const afterResume = await checkGuardrails(env.store.guardrail);
    expect(afterResume).toEqual([
      expect.objectContaining({ paused: false, since: new Date("2026-12-10T05:00:00Z"), counts: { treatment: { attempts: 0, successes: 0 }, control: { attempts: 0, successes: 0 } } }),
    ]);

    await seedPayments(env.pool, [...arm(id, "treatment", 1_100, 850, new Date("2026-12-10T05:30:00Z")), ...arm(id, "control", 1_100, 1_050, new Date("2026-12-10T05:30:00Z"))]);
    const again = await checkGuardrails(env.store.guardrail);
    expect(again[0]).toMatchObject({ paused: true, counts: { treatment: { attempts: 1_100, successes: 850 } } });
    const actions = await env.pool.query("SELECT action FROM routing_audit WHERE rollout_id = $1 ORDER BY id", [id]);
    expect(actions.rows.map((r) => (r as { action: string }).action)).toEqual(["pause_by_guardrail", "resume", "pause_by_guardrail"]);
  });

  it("pauses once when two instances' monitors see the same regression at the same time", async () => {
    const id = env.rolloutId;
    env.clock.now = new Date("2026-12-10T07:00:00Z");
    const resumed = await applyPolicyCommand(env.store.commands, { type: "resume_rollout", actor: "ops-alice", at: env.clock.read(), reason: "try again", rolloutId: id });
    expect(resumed.ok).toBe(true);
    await seedPayments(env.pool, [...arm(id, "treatment", 1_000, 800, new Date("2026-12-10T07:30:00Z")), ...arm(id, "control", 1_000, 960, new Date("2026-12-10T07:30:00Z"))]);
    env.clock.now = new Date("2026-12-10T08:00:00Z");
    const other = await env.openStore();
    try {
      const before = (await versions()).length;
      const [mine, theirs] = await Promise.all([checkGuardrails(env.store.guardrail), checkGuardrails(other.guardrail)]);
      expect([mine[0]?.paused, theirs[0]?.paused].filter(Boolean)).toEqual([true]);
      expect((await versions()).length).toBe(before + 1);
      const pauses = await env.pool.query("SELECT 1 FROM routing_audit WHERE rollout_id = $1 AND action = 'pause_by_guardrail' AND at = $2", [id, env.clock.now]);
      expect(pauses.rowCount).toBe(1);
    } finally {
      await other.stop();
    }
  });

  it("counts from an operator's change that cleared the pause as from a resume", async () => {
    const id = env.rolloutId;
    const paused = await env.store.source.refresh();
    expect(paused.rollouts[0]?.pause).toBeDefined();
    env.clock.now = new Date("2026-12-10T09:00:00Z");
    const cleared = await applyPolicyCommand(env.store.commands, {
      type: "change_policy",
      actor: "ops-bob",
      at: env.clock.read(),
      reason: "clear the pause by editing the policy",
      expectedVersion: paused.version,
      next: { ...paused, rollouts: paused.rollouts.map((r) => ({ ...r, pause: undefined })) },
    });
    expect(cleared.ok).toBe(true);
    env.clock.now = new Date("2026-12-10T09:30:00Z");
    expect(await checkGuardrails(env.store.guardrail)).toEqual([
      expect.objectContaining({
        rolloutId: id,
        paused: false,
        since: new Date("2026-12-10T09:00:00Z"),
        counts: { treatment: { attempts: 0, successes: 0 }, control: { attempts: 0, successes: 0 } },
      }),
    ]);
  });
});
