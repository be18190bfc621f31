import { create } from "@bufbuild/protobuf";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { CaptureRefundRequestedSchema, UnownedCaptureReason } from "@tributary/contracts/order/v1/order_events";
import { newEventId } from "@tributary/events";
import { money } from "@tributary/money";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inTransaction } from "../src/adapters/db/in-transaction.js";
import { createPgPaymentStore } from "../src/adapters/db/pg-payment-store.js";
import type { PaymentRecord } from "../src/app/ports.js";
import { eventually, startFaultProxy, startPaymentRoutingTestEnv, type PaymentRoutingTestEnv, type ProxyFault } from "./payment-routing-test-env.js";

/*
 * Failover only when the first attempt certainly created nothing, and money no order owns
 * refunded once — against the sandbox over HTTP (JD Pay with the sandbox's own timeout fault; e-CNY
 * behind a proxy that fails one request at a time), real Kafka and Postgres.
 */
describe("payment lifecycle: failover only when safe, unowned captures", () => {
  let env: PaymentRoutingTestEnv;
  let proxy: { url: string; stop(): Promise<void> };
  /** What the proxy in front of e-CNY does to the next payment creation; every other request passes. */
  let nextCreate: ProxyFault = "pass";

  beforeAll(async () => {
    // The e-CNY adapter talks to the sandbox through the fault proxy.
    let sandboxOrigin = "";
    proxy = await startFaultProxy(
      () => sandboxOrigin,
      (method, path) => {
        if (method !== "POST" || !path.endsWith("/ecny/v1/payments")) return "pass";
        const fault = nextCreate;
        nextCreate = "pass";
        return fault;
      },
    );
    env = await startPaymentRoutingTestEnv({
      // JD Pay processes every request, then closes the socket without answering.
      sandbox: { faults: { jdpay: { timeoutRate: 1, timeoutMs: 200 } } },
      timings: { firstQueryAfterMs: 30_000 },
      settings: (settings) => {
        if (settings.ecny === undefined) return settings;
        sandboxOrigin = new URL(settings.ecny.baseUrl).origin;
        return { ...settings, ecny: { ...settings.ecny, baseUrl: `${proxy.url}/ecny/v1` } };
      },
    });
  });
  afterAll(async () => {
    await env.stop();
    await proxy.stop();
  });

  it("an outcome that stays unknown keeps the attempt in creating: no other rail is tried, the provider keeps being asked", async () => {
    const orderId = await env.acceptOrder({ preferred: "jd_pay" });
    const unknown = await env.waitForAttempt(orderId, (p) => p.providerStatus?.startsWith("outcome_unknown") === true, "an unknown outcome");
    expect(unknown).toMatchObject({ provider: "jd_pay", status: "creating", attempt: 1 });
    // JD Pay did create it (the fault closes the socket after processing).
    expect(env.sandbox.transactions("jdpay").some((t) => t.outTradeNo === unknown.paymentId)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // several query rounds (unknownRetryMs 500)
    const attempts = await env.attempts(orderId);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.status).toBe("creating");
    expect(env.eventTypes(orderId)).toEqual(["PaymentRouted"]);
    const jd = env.service.health.snapshot(["jd_pay"], new Date()).find((h) => h.channel === "web");
    expect(jd?.health.attempts).toBeGreaterThanOrEqual(2); // timeouts count against the rail
    expect(jd?.health.successes).toBe(0);
  });

  it("a 5xx the provider never processed: the query finds nothing, so the order fails over to the next rail", async () => {
    nextCreate = "bad_gateway";
    const orderId = await env.acceptOrder({ preferred: "ecny" });
    const second = await env.waitForAttempt(orderId, (p) => p.attempt === 2, "a second attempt");
    const attempts = await env.attempts(orderId);
    expect(attempts[0]).toMatchObject({ provider: "ecny", status: "failed", attempt: 1 });
    expect(attempts[0]?.failureReason).toContain("not found at ecny");
    expect(second.provider).not.toBe("ecny");
    expect(env.sandbox.transactions("ecny").some((t) => t.outTradeNo === attempts[0]?.paymentId)).toBe(false);
    const routed = await env.waitForEvent(orderId, "PaymentRouted", (m) => m["paymentId"] === second.paymentId);
    expect(routed["routingRule"]).toContain("failover:2");
    expect(env.eventTypes(orderId)).not.toContain("PaymentFailed");
  });

  it("an answer lost after the provider created it: the query finds it pending, so no failover; the buyer pays it", async () => {
    nextCreate = "drop_answer";
    const orderId = await env.acceptOrder({ preferred: "ecny" });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", "a pending attempt");
    expect(pending).toMatchObject({ provider: "ecny", attempt: 1 });
    expect(await env.attempts(orderId)).toHaveLength(1);
    expect(env.pay(pending)).toBe(true);
    await env.waitForEvent(orderId, "PaymentCaptured", (m) => m["paymentId"] === pending.paymentId);
    expect(env.eventTypes(orderId)).toEqual(["PaymentRouted", "PaymentCaptured"]);
  });

  it("a refusal at creation (Alipay refuses a total over its 100,000,000 CNY limit) fails over at once", async () => {
    const orderId = await env.acceptOrder({ preferred: "alipay", amountMinor: 10_000_000_001n });
    const second = await env.waitForAttempt(orderId, (p) => p.attempt === 2, "a second attempt");
    const [first] = await env.attempts(orderId);
    expect(first).toMatchObject({ provider: "alipay", status: "failed" });
    expect(first?.failureReason).toContain("ACQ.INVALID_PARAMETER");
    expect(env.sandbox.transactions("alipay").some((t) => t.outTradeNo === first?.paymentId)).toBe(false);
    expect(second.provider).not.toBe("alipay");
  });

  it("an instance that died after claiming an attempt (sending, lease over): the sweeper queries before anything; not found → the next rail", async () => {
    const orphan = await insertClaimedAttempt(env, "ecny");
    const second = await env.waitForAttempt(orphan.orderId, (p) => p.attempt === 2, "a second attempt");
    const [first] = await env.attempts(orphan.orderId);
    expect(first).toMatchObject({ paymentId: orphan.paymentId, status: "failed" });
    expect(first?.failureReason).toContain("not found at ecny");
    expect(second.provider).toBe("wechat_pay");
  });

  it("an instance that died after the provider created the attempt: the sweeper finds it pending and keeps it", async () => {
    const paymentId = newEventId().replaceAll("-", "");
    const ecny = env.adapters.find((a) => a.provider === "ecny");
    const created = await ecny?.createPayment({
      paymentId,
      orderId: "o",
      merchantId: env.merchantId,
      amount: money(2_000n, "CNY"),
      channel: "web",
      description: "created before the crash",
      notifyUrl: "http://127.0.0.1:1/webhooks/ecny",
      expiresAt: new Date(Date.now() + 120_000),
    });
    expect(created).toMatchObject({ ok: true });
    const orphan = await insertClaimedAttempt(env, "ecny", paymentId);
    const pending = await env.waitForAttempt(orphan.orderId, (p) => p.status === "pending", "the attempt found pending");
    expect(pending.paymentId).toBe(paymentId);
    expect(await env.attempts(orphan.orderId)).toHaveLength(1);
  });

  it("a capture of an attempt we failed over from, while the next attempt waits: the capture pays the order, the waiting attempt is closed at its provider", async () => {
    // Attempt 1 (e-CNY) exists at the provider but was failed here; attempt 2 (WeChat) waits for the buyer.
    const firstId = newEventId().replaceAll("-", "");
    const created = await env.adapters.find((a) => a.provider === "ecny")?.createPayment({
      paymentId: firstId,
      orderId: "o",
      merchantId: env.merchantId,
      amount: money(2_000n, "CNY"),
      channel: "web",
      description: "failed over from",
      notifyUrl: notifyUrlOf(env, "ecny"),
      expiresAt: new Date(Date.now() + 120_000),
    });
    expect(created).toMatchObject({ ok: true });
    const first = await insertClaimedAttempt(env, "ecny", firstId, { status: "failed", failureReason: "test: failed over", nextCheckAt: undefined });
    const secondId = newEventId().replaceAll("-", "");
    const wechat = env.adapters.find((a) => a.provider === "wechat_pay");
    expect(
      await wechat?.createPayment({
        paymentId: secondId,
        orderId: first.orderId,
        merchantId: env.merchantId,
        amount: money(2_000n, "CNY"),
        channel: "web",
        description: "attempt 2",
        notifyUrl: notifyUrlOf(env, "wechat_pay"),
        expiresAt: new Date(Date.now() + 120_000),
      }),
    ).toMatchObject({ ok: true });
    await insertClaimedAttempt(env, "wechat_pay", secondId, { orderId: first.orderId, attempt: 2, status: "pending", providerStatus: "created", nextCheckAt: new Date(Date.now() + 60_000) });

    expect(env.pay(first)).toBe(true); // the buyer pays the first QR code after all
    await env.waitForEvent(first.orderId, "PaymentCaptured", (m) => m["paymentId"] === firstId);
    const closedAtWechat = await eventually(
      () => (env.sandbox.transactions("wechat").find((t) => t.outTradeNo === secondId)?.status === "closed" ? true : undefined),
      "attempt 2 closed at WeChat",
    );
    expect(closedAtWechat).toBe(true);
    const attempts = await env.attempts(first.orderId);
    expect(attempts.map((a) => [a.paymentId, a.status])).toEqual([
      [firstId, "captured"],
      [secondId, "failed"],
    ]);
    expect(attempts[1]?.failureReason).toContain(`superseded: payment ${firstId} was captured`);
    await env.waitForAttempt(first.orderId, (a) => a.paymentId === secondId && a.nextCheckAt === undefined, "attempt 2 done");
    expect(await env.refunds(firstId)).toEqual([]);
  });

  it("a capture reported after the payment closed is recorded, published and refunded in full once, also when the order service asks again", async () => {
    const orderId = await env.acceptOrder({ preferred: "wechat_pay", amountMinor: 5_000n });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", "a pending WeChat payment");
    // The provider's close reaches us first (out of order); the buyer had paid meanwhile.
    await inTransaction(env.pool, (tx) =>
      env.service.lifecycle.applyPaymentReport(tx, pending.paymentId, { paymentId: pending.paymentId, status: "closed", providerStatus: "CLOSED" }),
    );
    await env.waitForEvent(orderId, "PaymentFailed", (m) => m["paymentId"] === pending.paymentId);
    expect(env.pay(pending)).toBe(true); // → TRANSACTION.SUCCESS notification
    const refunded = await env.waitForEvent(orderId, "PaymentRefunded", (m) => m["paymentId"] === pending.paymentId);
    expect(refunded).toMatchObject({ refundRef: `capture-refund:${pending.paymentId}`, amount: { currency: "CNY", amountMinor: 5_000n } });
    expect(env.eventTypes(orderId)).toEqual(["PaymentRouted", "PaymentFailed", "PaymentCaptured", "PaymentRefunded"]);
    const [row] = await env.attempts(orderId);
    expect(row).toMatchObject({ status: "closed", refundedMinor: 5_000n });
    expect(row?.capturedAt).toBeInstanceOf(Date);
    const refunds = await env.refunds(pending.paymentId);
    expect(refunds).toMatchObject([{ refundRef: `capture-refund:${pending.paymentId}`, unownedCapture: true, status: "succeeded" }]);

    // The order service, seeing a capture of a closed order, asks for the same refund (twice).
    for (let i = 0; i < 2; i += 1) {
      await env.publishOrders(orderId, CaptureRefundRequestedSchema, captureRefundRequest(orderId, pending.paymentId, 5_000n));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await env.refunds(pending.paymentId)).toHaveLength(1);
    expect(env.sandbox.transactions("wechat").find((t) => t.outTradeNo === pending.paymentId)?.refunds).toHaveLength(1);
    expect(env.eventTypes(orderId).filter((t) => t === "PaymentRefunded")).toHaveLength(1);
  });

  it("an orphan capture (CaptureRefundRequested for a payment the order no longer owns) is refunded once", async () => {
    const orderId = await env.acceptOrder({ preferred: "ecny", amountMinor: 7_700n });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", "a pending e-CNY payment");
    expect(env.pay(pending)).toBe(true);
    await env.waitForEvent(orderId, "PaymentCaptured");
    const request = captureRefundRequest(orderId, pending.paymentId, 7_700n);
    await env.publishOrders(orderId, CaptureRefundRequestedSchema, request);
    await env.publishOrders(orderId, CaptureRefundRequestedSchema, request); // a re-send under a new event id
    const refunded = await env.waitForEvent(orderId, "PaymentRefunded");
    expect(refunded).toMatchObject({ refundRef: `capture-refund:${pending.paymentId}`, amount: { amountMinor: 7_700n }, feeReturned: { amountMinor: 0n } });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(env.eventTypes(orderId)).toEqual(["PaymentRouted", "PaymentCaptured", "PaymentRefunded"]);
    expect(await env.refunds(pending.paymentId)).toMatchObject([{ unownedCapture: true, status: "succeeded", amount: money(7_700n, "CNY") }]);
    expect(env.sandbox.transactions("ecny").find((t) => t.outTradeNo === pending.paymentId)?.refunds).toHaveLength(1);
  });
});

function captureRefundRequest(orderId: string, paymentId: string, amountMinor: bigint) {
  return create(CaptureRefundRequestedSchema, {
    orderId,
    paymentId,
    merchantId: "m",
    provider: Provider.ECNY,
    amount: { currency: "CNY", amountMinor },
    reason: UnownedCaptureReason.ORDER_CANCELLED,
    refundRef: `capture-refund:${paymentId}`,
    description: "the order was cancelled",
  });
}

/**
 * A `creating` attempt as an instance leaves it when it dies between claiming the row (marked
 * `sending`) and recording the provider's answer, its lease already over.
 */
async function insertClaimedAttempt(
  env: PaymentRoutingTestEnv,
  provider: PaymentRecord["provider"],
  paymentId = newEventId().replaceAll("-", ""),
  overrides: Partial<PaymentRecord> = {},
): Promise<PaymentRecord> {
  const now = new Date();
  const record: PaymentRecord = {
    paymentId,
    orderId: newEventId(),
    merchantId: env.merchantId,
    buyerId: "buyer-crash",
    buyerAccounts: {},
    provider,
    channel: "web",
    attempt: 1,
    status: "creating",
    amount: money(2_000n, "CNY"),
    routingRule: "ranked_by_expected_value",
    decision: {
      policyVersion: 1,
      candidates: [
        { provider, tier: "ranked", reasons: ["eligible", "ranked_by_expected_value"] },
        { provider: "wechat_pay", tier: "ranked", reasons: ["eligible", "ranked_by_expected_value"] },
      ],
      dropped: [],
      matchedRuleIds: [],
      explored: false,
    },
    rolloutId: undefined,
    rolloutArm: undefined,
    buyerAction: undefined,
    providerTransactionId: undefined,
    providerStatus: "sending",
    failureReason: undefined,
    refundedMinor: 0n,
    createdAt: now,
    updatedAt: now,
    expiresAt: new Date(now.getTime() + 120_000),
    nextCheckAt: now,
    capturedAt: undefined,
    traceParent: undefined,
    ...overrides,
  };
  await inTransaction(env.pool, (tx) => createPgPaymentStore().insertPayment(tx, record));
  return record;
}

/** The notify URL the service gives `provider`, read back from a payment it created. */
function notifyUrlOf(env: PaymentRoutingTestEnv, provider: string): string {
  return `${env.notifyBaseUrl}/webhooks/${provider}`;
}
