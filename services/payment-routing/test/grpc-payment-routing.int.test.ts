/**
 * PaymentRoutingService over a real port, with the Prisma policy store on the real database and
 * the outbox relay on the real broker: previews with reasons, the checkout's list, policy updates
 * refused with the field path or for a stale version, audited and published changes, resume,
 * scopes and merchant binding on payments and policy.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Channel, Provider } from "@tributary/contracts/common/v1/provider";
import { PaymentStatus } from "@tributary/contracts/payment/v1/payment";
import { BreakerState, CandidateTier, type RoutingOrderSchema } from "@tributary/contracts/payment/v1/payment_routing_service";
import type { RolloutResumed, RoutingPolicyChanged } from "@tributary/contracts/payment/v1/routing_events";
import { Code, type RpcError } from "@tributary/grpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyPolicyCommand } from "../src/app/policy/apply-policy-command.js";
import { evaluateGuardrail } from "../src/domain/routing/guardrail.js";
import { rpcError, seedPayments, startPolicyTestEnv, tokens, type PolicyTestEnv } from "./policy-test-env.js";

let env: PolicyTestEnv;

beforeAll(async () => {
  env = await startPolicyTestEnv();
});

afterAll(async () => {
  await env?.stop();
});

/** A cart of m-taobao-1 on the app: 128.00 CNY of apparel. */
type Cart = MessageInitShape<typeof RoutingOrderSchema>;

function cart(overrides: Omit<Cart, "$typeName"> = {}): Cart {
  return {
    merchantId: "m-taobao-1",
    buyerId: "b-staff-1",
    amount: { currency: "CNY", amountMinor: 12_800n },
    lineCategories: ["apparel"],
    channel: Channel.APP,
    country: "CN",
    ...overrides,
  };
}

async function auditRows(): Promise<{ actor: string; action: string; from_version: number; to_version: number; reason: string; before: { utcOffsetMinutes: number }; after: { utcOffsetMinutes: number } }[]> {
  const result = await env.pool.query("SELECT actor, action, from_version, to_version, reason, before, after FROM routing_audit ORDER BY id");
  return result.rows as never;
}

describe("previews", () => {
  it("PreviewRoute returns the ranked rails and every dropped rail with its reasons", async () => {
    const response = await env.client(tokens.operator).previewRoute({ order: cart({ merchantId: "m-small-2", buyerId: "b-42" }) });
    expect(response.policyVersion).toBe(1);
    expect(response.candidates.map((c) => c.provider)).toEqual([Provider.ALIPAY, Provider.WECHAT_PAY]);
    expect(response.candidates[0]).toMatchObject({ rank: 0, tier: CandidateTier.RANKED, health: { breaker: BreakerState.CLOSED } });
    expect(response.candidates[0]?.fee).toMatchObject({ currency: "CNY", amountMinor: 77n });
    expect(response.candidates[0]?.reasons.map((r) => r.code)).toContain("ranked_by_expected_value");
    const dropped = new Map(response.dropped.map((d) => [d.provider, d.reasons.map((r) => r.code)]));
    expect(dropped.get(Provider.UNIONPAY)).toEqual(["not_enabled_for_merchant"]);
    expect(dropped.get(Provider.ECNY)).toEqual(expect.arrayContaining(["not_enabled_for_merchant", "rollout_merchant_not_in_pilot"]));
    // The sentences are written when first read (reasonOf); the preview carries them all.
    expect(response.candidates[0]?.reasons.at(-1)?.text).toMatch(/^expected value \d+\.\d{2} CNY = [\d.]+ % success \(\d+\/\d+ recent\) × \(\d+\.\d{2} − fee 0\.77\)$/);
    expect(response.dropped.find((d) => d.provider === Provider.UNIONPAY)?.reasons[0]?.text).toBe("merchant m-small-2 has not enabled unionpay");
  });

  it("ListAvailableMethods lists what the checkout may show, the trial rail first for an allowlisted buyer", async () => {
    const response = await env.client(tokens.shopTaobao).listAvailableMethods({ order: cart() });
    expect(response.methods[0]).toMatchObject({ provider: Provider.ECNY, rank: 0, preferred: false });
    expect(response.methods.map((m) => m.provider)).toHaveLength(5);
    const preferred = await env.client(tokens.shopTaobao).listAvailableMethods({ order: cart({ preferredProvider: Provider.WECHAT_PAY }) });
    expect(preferred.methods[0]).toMatchObject({ provider: Provider.WECHAT_PAY, preferred: true });
  });

  it("refuses a preview for another merchant and a malformed cart, naming the fields", async () => {
    const denied = await rpcError(env.client(tokens.shopSmall).previewRoute({ order: cart() }));
    expect(denied.code).toBe(Code.PermissionDenied);
    expect(denied.reason).toBe("merchant_access_denied");
    const bad = await rpcError(env.client(tokens.shopTaobao).previewRoute({ order: cart({ channel: Channel.UNSPECIFIED, amount: { currency: "XXX", amountMinor: 1n }, country: "China" }) }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.fieldViolations.map((v) => v.field)).toEqual(["order.amount.currency", "order.channel", "order.country"]);
  });

  it("ListProviderHealth answers every provider on every channel", async () => {
    const response = await env.client(tokens.reader).listProviderHealth({});
    expect(response.providers).toHaveLength(15);
    expect(response.providers.every((p) => p.health?.breaker === BreakerState.CLOSED)).toBe(true);
  });
});

describe("the routing policy over gRPC", () => {
  it("GetRoutingPolicy returns the JSON form with bigints as strings", async () => {
    const { policy } = await env.client(tokens.reader).getRoutingPolicy({});
    expect(policy?.version).toBe(1);
    expect(policy?.createdBy).toBe("system:seed");
    const json = JSON.parse(policy?.policyJson ?? "{}") as { providers: { fees: { schedule: { ratePpm: unknown } }[] }[] };
    expect(json.providers[0]?.fees[0]?.schedule.ratePpm).toBe("6000");
  });

  it("refuses a roll-out over 100 % with INVALID_ARGUMENT naming the field, and writes nothing", async () => {
    const { policy } = await env.client(tokens.operator).getRoutingPolicy({});
    const json = JSON.parse(policy?.policyJson ?? "{}") as { rollouts: { ramp: { percent: number }[] }[] };
    const step = json.rollouts[0]?.ramp[1];
    if (step !== undefined) step.percent = 150;
    const error = await rpcError(
      env.client(tokens.operator).updateRoutingPolicy({ expectedVersion: 1, policyJson: JSON.stringify(json), reason: "faster ramp" }),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.reason).toBe("invalid_policy");
    expect(error.fieldViolations).toEqual(
      expect.arrayContaining([{ field: "policy_json.rollouts[0].ramp[1].percent", description: "must be between 0 and 100, got 150" }]),
    );
    const shape = await rpcError(env.client(tokens.operator).updateRoutingPolicy({ expectedVersion: 1, policyJson: '{"providers": 3}', reason: "x" }));
    expect(shape.code).toBe(Code.InvalidArgument);
    expect(shape.fieldViolations.map((v) => v.field)).toContain("policy_json.providers");
    expect((await env.client(tokens.reader).getRoutingPolicy({})).policy?.version).toBe(1);
    expect(await auditRows()).toEqual([]);
  });

  it("commits a change as a new version with an audit row (before and after) and RoutingPolicyChanged", async () => {
    const { policy } = await env.client(tokens.operator).getRoutingPolicy({});
    const json = JSON.parse(policy?.policyJson ?? "{}") as { utcOffsetMinutes: number };
    json.utcOffsetMinutes = 540;
    // Unique to this run: other files' events are on the same topic.
    const reason = `Tokyo hours (${env.rolloutId})`;
    const { policy: updated } = await env.client(tokens.operator).updateRoutingPolicy({
      expectedVersion: 1,
      policyJson: JSON.stringify(json),
      reason,
    });
    expect(updated).toMatchObject({ version: 2, createdBy: "ops-alice" });
    expect(await auditRows()).toEqual([
      expect.objectContaining({ actor: "ops-alice", action: "change", from_version: 1, to_version: 2, reason, before: expect.objectContaining({ utcOffsetMinutes: 480 }), after: expect.objectContaining({ utcOffsetMinutes: 540 }) }),
    ]);
    const published = await env.routing.waitFor((r) => r.type === "tributary.payment.v1.RoutingPolicyChanged" && (r.message as RoutingPolicyChanged).reason === reason, "RoutingPolicyChanged v2");
    expect(published.message).toMatchObject({ fromVersion: 1, toVersion: 2, actor: "ops-alice" });
    expect(JSON.parse((published.message as RoutingPolicyChanged).policyJson)).toMatchObject({ version: 2, utcOffsetMinutes: 540 });
    // The preview uses the new version at once (the store refreshed its own cache on commit).
    expect((await env.client(tokens.operator).previewRoute({ order: cart() })).policyVersion).toBe(2);
  });

  it("answers a change against a stale version with ABORTED and the current version unchanged", async () => {
    const { policy } = await env.client(tokens.operator).getRoutingPolicy({});
    const error = await rpcError(env.client(tokens.operator).updateRoutingPolicy({ expectedVersion: 1, policyJson: policy?.policyJson ?? "", reason: "stale edit" }));
    expect(error.code).toBe(Code.Aborted);
    expect(error.reason).toBe("policy_version_conflict");
    expect((await env.client(tokens.reader).getRoutingPolicy({})).policy?.version).toBe(policy?.version);
  });

  it("resumes a roll-out the guardrail paused, audited and published; a second resume changes nothing", async () => {
    await applyPolicyCommand(env.store.commands, {
      type: "pause_rollout_by_guardrail",
      at: env.clock.read(),
      rolloutId: env.rolloutId,
      evaluation: evaluateGuardrail({ attempts: 2_000, successes: 1_600 }, { attempts: 2_000, successes: 1_900 }, { thresholdPp: 2, minSamplesPerArm: 1_000, alpha: 0.05 }),
    });
    const paused = await env.client(tokens.reader).getRoutingPolicy({});
    expect(JSON.parse(paused.policy?.policyJson ?? "{}")).toMatchObject({ rollouts: [{ pause: { by: "guardrail" } }] });

    const missing = await rpcError(env.client(tokens.operator).resumeRollout({ rolloutId: "no-such-rollout", reason: "x" }));
    expect(missing.code).toBe(Code.NotFound);
    const noReason = await rpcError(env.client(tokens.operator).resumeRollout({ rolloutId: env.rolloutId }));
    expect(noReason.fieldViolations.map((v) => v.field)).toEqual(["reason"]);

    const resumed = await env.client(tokens.operator).resumeRollout({ rolloutId: env.rolloutId, reason: "provider fixed its gateway" });
    expect(resumed.resumed).toBe(true);
    expect(JSON.parse(resumed.policy?.policyJson ?? "{}")).toMatchObject({ rollouts: [{ pause: null }] });
    const version = resumed.policy?.version ?? 0;
    const rows = await auditRows();
    expect(rows.at(-1)).toMatchObject({ actor: "ops-alice", action: "resume", from_version: version - 1, to_version: version, reason: "provider fixed its gateway" });
    const event = await env.routing.waitFor(
      (r) => r.type === "tributary.payment.v1.RolloutResumed" && (r.message as RolloutResumed).rolloutId === env.rolloutId && (r.message as RolloutResumed).toVersion === version,
      "RolloutResumed",
    );
    expect(event.message).toMatchObject({ rolloutId: env.rolloutId, provider: Provider.ECNY, actor: "ops-alice" });

    const again = await env.client(tokens.operator).resumeRollout({ rolloutId: env.rolloutId, reason: "again" });
    expect(again).toMatchObject({ resumed: false, policy: { version } });
    expect(await auditRows()).toHaveLength(rows.length);
  });

  it("needs the admin scope to change the policy, and a token bound to all merchants to read or change it", async () => {
    const scopeless = await rpcError(env.client(tokens.reader).resumeRollout({ rolloutId: env.rolloutId, reason: "x" }));
    expect(scopeless.code).toBe(Code.PermissionDenied);
    const shop = await rpcError(env.client(tokens.shopTaobao).getRoutingPolicy({}));
    expect(shop.code).toBe(Code.PermissionDenied);
    for (const call of [
      env.client(tokens.boundAdmin).getRoutingPolicy({}),
      env.client(tokens.boundAdmin).updateRoutingPolicy({ expectedVersion: 1, policyJson: "{}", reason: "x" }),
      env.client(tokens.boundAdmin).resumeRollout({ rolloutId: env.rolloutId, reason: "x" }),
    ]) {
      const denied: RpcError = await rpcError(call);
      expect(denied.code).toBe(Code.PermissionDenied);
      expect(denied.reason).toBe("policy_access_denied");
    }
  });
});

describe("payments over gRPC", () => {
  it("GetPayment shows the checkout what to hand the buyer: a QR code's content or the wallet SDK's parameters", async () => {
    const [qr, app, none] = await seedPayments(env.pool, [
      { merchantId: "m-taobao-1", status: "pending", createdAt: new Date("2026-12-09T09:00:00Z") },
      { merchantId: "m-taobao-1", status: "pending", createdAt: new Date("2026-12-09T09:00:01Z") },
      { merchantId: "m-taobao-1", status: "pending", createdAt: new Date("2026-12-09T09:00:02Z") },
    ]);
    await env.pool.query("UPDATE payments SET buyer_action = $2 WHERE payment_id = $1", [qr, JSON.stringify({ kind: "qr_code", url: "https://qr.alipay.com/bax01" })]);
    await env.pool.query("UPDATE payments SET buyer_action = $2 WHERE payment_id = $1", [
      app,
      JSON.stringify({ kind: "app_params", params: { orderStr: "app_id=2021&method=alipay.trade.app.pay&sign=x" } }),
    ]);
    const client = env.client(tokens.shopTaobao);
    expect((await client.getPayment({ paymentId: qr ?? "" })).payment?.buyerAction?.action).toEqual({ case: "qrCodeUrl", value: "https://qr.alipay.com/bax01" });
    const appAction = (await client.getPayment({ paymentId: app ?? "" })).payment?.buyerAction?.action;
    expect(appAction?.case === "appParameters" && appAction.value.parameters).toEqual({ orderStr: "app_id=2021&method=alipay.trade.app.pay&sign=x" });
    expect((await client.getPayment({ paymentId: none ?? "" })).payment?.buyerAction).toBeUndefined();
  });

  it("GetPayment answers another merchant's payment exactly as a missing one", async () => {
    const [taobaoPayment] = await seedPayments(env.pool, [{ merchantId: "m-taobao-1", status: "captured", createdAt: new Date("2026-12-09T10:00:00Z") }]);
    const own = await env.client(tokens.shopTaobao).getPayment({ paymentId: taobaoPayment ?? "" });
    expect(own.payment).toMatchObject({ paymentId: taobaoPayment, merchantId: "m-taobao-1", status: PaymentStatus.CAPTURED, provider: Provider.ECNY, amount: { currency: "CNY", amountMinor: 1000n } });
    const missingId = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    const observed = (error: RpcError, id: string) => ({ code: error.code, reason: error.reason, message: error.message.replaceAll(id, "<id>") });
    const missing = observed(await rpcError(env.client(tokens.shopSmall).getPayment({ paymentId: missingId })), missingId);
    expect(missing.code).toBe(Code.NotFound);
    expect(observed(await rpcError(env.client(tokens.shopSmall).getPayment({ paymentId: taobaoPayment ?? "" })), taobaoPayment ?? "")).toEqual(missing);
  });

  it("ListPayments pages a merchant's payments newest first, and refuses another merchant", async () => {
    // A merchant of this run alone (other files seed thousands of payments for the example merchants).
    const merchantId = `m-pager-${env.rolloutId}`;
    const base = Date.parse("2026-11-20T00:00:00Z");
    const ids = await seedPayments(
      env.pool,
      Array.from({ length: 5 }, (_, i) => ({ merchantId, status: i % 2 === 0 ? ("captured" as const) : ("failed" as const), createdAt: new Date(base + i * 60_000), buyerId: "pager" })),
    );
    const seen: string[] = [];
    let pageToken = "";
    for (;;) {
      const page = await env.client(tokens.operator).listPayments({ merchantId, pageSize: 2, pageToken });
      expect(page.payments.length).toBeLessThanOrEqual(2);
      seen.push(...page.payments.map((p) => p.paymentId));
      if (page.nextPageToken === "") break;
      pageToken = page.nextPageToken;
    }
    expect(seen).toEqual([...ids].reverse());
    const failed = await env.client(tokens.operator).listPayments({ merchantId, statuses: [PaymentStatus.FAILED] });
    expect(failed.payments.map((p) => p.paymentId)).toEqual([ids[3], ids[1]]);

    // A shop lists its own merchant; another merchant's listing is refused before anything is read.
    const own = await env.client(tokens.shopTaobao).listPayments({ merchantId: "m-taobao-1", pageSize: 1 });
    expect(own.payments.every((p) => p.merchantId === "m-taobao-1")).toBe(true);
    const denied = await rpcError(env.client(tokens.shopSmall).listPayments({ merchantId: "m-taobao-1" }));
    expect(denied.code).toBe(Code.PermissionDenied);
    expect(denied.reason).toBe("merchant_access_denied");
    const bad = await rpcError(env.client(tokens.shopSmall).listPayments({ pageToken: "nope", pageSize: 9_999 }));
    expect(bad.fieldViolations.map((v) => v.field)).toEqual(["merchant_id", "page_size", "page_token"]);
  });
});
