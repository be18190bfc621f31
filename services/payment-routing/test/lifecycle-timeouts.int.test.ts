import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultProxy, startPaymentRoutingTestEnv, type PaymentRoutingTestEnv } from "./payment-routing-test-env.js";

/*
 * What happens when the buyer is declined, when the provider's notification is lost, and when a
 * payment times out — the sandbox's simulated buyer tries to pay 200 ms after each payment is
 * created, with the sandbox's own fault injection: JD Pay declines every attempt, Alipay loses
 * every notification, e-CNY declines and then, on close, turns out to have been paid a moment
 * earlier. Payments time out after 2.5 s here (15 min by default).
 */
describe("payment lifecycle: declines, lost notifications, timeouts", () => {
  let env: PaymentRoutingTestEnv;
  let proxy: { url: string; stop(): Promise<void> };
  beforeAll(async () => {
    // WeChat sits behind a proxy that answers 502 to everything but a close.
    let sandboxOrigin = "";
    proxy = await startFaultProxy(
      () => sandboxOrigin,
      (method, path) => (method === "POST" && path.split("?")[0]?.endsWith("/close") === true ? "pass" : "bad_gateway"),
    );
    env = await startPaymentRoutingTestEnv({
      settings: (settings) => {
        if (settings.wechat === undefined) return settings;
        sandboxOrigin = settings.wechat.baseUrl;
        return { ...settings, wechat: { ...settings.wechat, baseUrl: proxy.url } };
      },
      sandbox: {
        buyer: { mode: "simulated", payProbability: 1, lateProbability: 0, latency: { kind: "fixed", ms: 200 }, lateLatency: { kind: "fixed", ms: 1_000 } },
        faults: {
          jdpay: { declineRate: 1 },
          alipay: { lostNotifyRate: 1 },
          ecny: { declineRate: 1, lateNotifyAfterCloseRate: 1, lateNotifyDelayMs: 300 },
        },
      },
      timings: { paymentTimeoutMs: 2_500, firstQueryAfterMs: 700, queryIntervalMs: 500 },
    });
  });
  afterAll(async () => {
    await env.stop();
    await proxy.stop();
  });

  it("a declined buyer leaves the payment pending; at its timeout it is closed at the provider: PaymentFailed timed_out, no failover, the decline not held against the rail", async () => {
    const orderId = await env.acceptOrder({ preferred: "jd_pay" });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", "a pending JD Pay payment");
    // Generous: on a loaded 2-core machine (the full suite) the expiry, the failing queries and the
    // close took longer than 15 s; the assertion is what happened, not how fast.
    const failed = await env.waitForEvent(orderId, "PaymentFailed", () => true, 60_000);
    expect(failed).toMatchObject({ paymentId: pending.paymentId, reasonCode: "timed_out" });
    const attempts = await env.attempts(orderId);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ status: "closed", failureReason: "timed_out" });
    expect(attempts[0]?.nextCheckAt).toBeUndefined();
    expect(env.sandbox.transactions("jdpay").find((t) => t.outTradeNo === pending.paymentId)?.status).toBe("closed");
    expect(env.eventTypes(orderId)).toEqual(["PaymentRouted", "PaymentFailed"]);
    const jd = env.service.health.snapshot(["jd_pay"], new Date()).find((h) => h.channel === "web");
    expect(jd?.health.breaker).toBe("closed");
    expect(jd?.health.successes).toBe(jd?.health.attempts); // every call answered; the decline is the buyer's
  });

  it("a lost notification: the pending payment is queried after firstQueryAfterMs and found captured", async () => {
    const orderId = await env.acceptOrder({ preferred: "alipay" });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", "a pending Alipay payment");
    const captured = await env.waitForEvent(orderId, "PaymentCaptured", () => true, 10_000);
    expect(captured).toMatchObject({ paymentId: pending.paymentId, amount: { amountMinor: 12_345n } });
    expect(env.notifications.some((n) => n.verified.ok && n.verified.value.report.paymentId === pending.paymentId)).toBe(false);
    expect(env.sandbox.deliveries().some((d) => d.outTradeNo === pending.paymentId)).toBe(false);
    expect(env.eventTypes(orderId)).toEqual(["PaymentRouted", "PaymentCaptured"]);
  });

  it("a payment the buyer paid just before the close: the close is refused, the query shows it captured, so it is captured, not timed out", async () => {
    const orderId = await env.acceptOrder({ preferred: "ecny" });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", "a pending e-CNY payment");
    const captured = await env.waitForEvent(orderId, "PaymentCaptured", () => true, 15_000);
    expect(captured).toMatchObject({ paymentId: pending.paymentId });
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the late notification arrives too
    expect(env.eventTypes(orderId)).toEqual(["PaymentRouted", "PaymentCaptured"]);
    const [row] = await env.attempts(orderId);
    expect(row).toMatchObject({ status: "captured" });
  });

  it("an attempt whose outcome stays unknown until its expiry is closed at the provider and ends timed_out, never failed over", async () => {
    const orderId = await env.acceptOrder({ preferred: "wechat_pay" });
    // Generous: on a loaded 2-core machine (the full suite) the expiry, the failing queries and the
    // close took longer than 15 s; the assertion is what happened, not how fast.
    const failed = await env.waitForEvent(orderId, "PaymentFailed", () => true, 60_000);
    expect(failed).toMatchObject({ reasonCode: "timed_out" });
    const attempts = await env.attempts(orderId);
    expect(attempts.map((a) => [a.provider, a.status, a.failureReason])).toEqual([["wechat_pay", "closed", "timed_out"]]);
    expect(env.eventTypes(orderId)).toEqual(["PaymentRouted", "PaymentFailed"]);
  }, 120_000);
});
