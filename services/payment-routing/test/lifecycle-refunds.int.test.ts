import { OrderRefundRequestedSchema } from "@tributary/contracts/order/v1/order_events";
import { feeFor, money, refundFee } from "@tributary/money";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { feeScheduleOf } from "../src/app/lifecycle-rules.js";
import type { PaymentRecord } from "../src/app/ports.js";
import type { ProviderId } from "@tributary/contracts";
import { startPaymentRoutingTestEnv, type PaymentRoutingTestEnv } from "./payment-routing-test-env.js";

/*
 * Refunds (partial, full, too large) on OrderRefundRequested, and a provider outage that opens
 * the rail's circuit breaker so traffic moves — against the sandbox over HTTP (Alipay answering
 * every request with a 502 page), real Kafka and Postgres.
 */
describe("payment lifecycle: refunds and a provider outage", () => {
  let env: PaymentRoutingTestEnv;
  beforeAll(async () => {
    env = await startPaymentRoutingTestEnv({
      sandbox: { faults: { alipay: { serverErrorRate: 1 } } },
      breaker: { minAttempts: 3, failureRateMax: 0.5, openMs: 60_000 },
      timings: { firstQueryAfterMs: 30_000 },
    });
  });
  afterAll(async () => {
    await env.stop();
  });

  const capturedPayment = async (provider: ProviderId, amountMinor: bigint): Promise<{ orderId: string; payment: PaymentRecord }> => {
    const orderId = await env.acceptOrder({ preferred: provider, amountMinor });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", `a pending ${provider} payment`);
    expect(env.pay(pending)).toBe(true);
    const payment = await env.waitForAttempt(orderId, (p) => p.status === "captured", `a captured ${provider} payment`);
    return { orderId, payment };
  };

  const requestRefund = (orderId: string, refundRef: string, amountMinor: bigint) =>
    env.publishOrders(orderId, OrderRefundRequestedSchema, { orderId, refundRef, amount: { currency: "CNY", amountMinor }, reason: "customer return" });

  it("a partial then a full refund (WeChat: accepted as processing, succeeded later): PaymentRefunded each, the fees given back add up to the capture's fee", async () => {
    const { orderId, payment } = await capturedPayment("wechat_pay", 12_345n);
    await requestRefund(orderId, "r-part-1", 4_000n);
    const first = await env.waitForEvent(orderId, "PaymentRefunded", (m) => m["refundRef"] === "r-part-1");
    const schedule = feeScheduleOf(env.policy, "wechat_pay", "CNY");
    if (schedule === undefined) throw new Error("no WeChat fee schedule");
    const captured = money(12_345n, "CNY");
    const fee = feeFor(captured, schedule);
    expect(first).toMatchObject({
      paymentId: payment.paymentId,
      amount: { amountMinor: 4_000n },
      feeReturned: { amountMinor: refundFee(captured, fee, money(4_000n, "CNY"), schedule.rounding).amountMinor },
    });
    await requestRefund(orderId, "r-part-1", 4_000n); // a repeat: nothing new
    await requestRefund(orderId, "r-rest-2", 8_345n);
    const second = await env.waitForEvent(orderId, "PaymentRefunded", (m) => m["refundRef"] === "r-rest-2");
    const returned = [first, second].reduce((total, m) => total + ((m["feeReturned"] as { amountMinor: bigint }).amountMinor), 0n);
    expect(returned).toBe(fee.amountMinor);
    const [row] = await env.attempts(orderId);
    expect(row?.refundedMinor).toBe(12_345n);
    expect((await env.refunds(payment.paymentId)).map((r) => [r.refundRef, r.status])).toEqual([
      ["r-part-1", "succeeded"],
      ["r-rest-2", "succeeded"],
    ]);
    expect(env.sandbox.transactions("wechat").find((t) => t.outTradeNo === payment.paymentId)?.refunds).toHaveLength(2);
    expect(env.eventTypes(orderId)).toEqual(["PaymentRouted", "PaymentCaptured", "PaymentRefunded", "PaymentRefunded"]);
  });

  it("a refund larger than captured minus refunded is refused with RefundFailed refund_exceeds_captured, without calling the provider", async () => {
    const { orderId, payment } = await capturedPayment("jd_pay", 5_000n);
    await requestRefund(orderId, "r-too-much", 5_001n);
    const refused = await env.waitForEvent(orderId, "RefundFailed", (m) => m["refundRef"] === "r-too-much");
    expect(refused).toMatchObject({ paymentId: payment.paymentId, reasonCode: "refund_exceeds_captured" });
    await requestRefund(orderId, "r-ok-3000", 3_000n);
    await env.waitForEvent(orderId, "PaymentRefunded", (m) => m["refundRef"] === "r-ok-3000");
    await requestRefund(orderId, "r-too-much-2", 2_001n);
    await env.waitForEvent(orderId, "RefundFailed", (m) => m["refundRef"] === "r-too-much-2" && m["reasonCode"] === "refund_exceeds_captured");
    const refunds = env.sandbox.transactions("jdpay").find((t) => t.outTradeNo === payment.paymentId)?.refunds ?? [];
    expect(refunds.map((r) => r.amountMinor)).toEqual([3_000n]);
    const [row] = await env.attempts(orderId);
    expect(row?.refundedMinor).toBe(3_000n);
  });

  it("a provider outage opens its breaker and traffic moves to another rail; attempts with an unknown outcome stay put", async () => {
    const stuck: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const orderId = await env.acceptOrder({ preferred: "alipay" });
      // 60 s: under the full suite's load the sandbox's withheld answer and our call timeout took over 30 s.
      await env.waitForAttempt(orderId, (p) => p.providerStatus?.startsWith("outcome_unknown") === true, "an unknown Alipay outcome", 60_000);
      stuck.push(orderId);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const alipay = env.service.health.snapshot(["alipay"], new Date()).find((h) => h.channel === "web");
    expect(alipay?.health.breaker).toBe("open");

    const orderId = await env.acceptOrder({ preferred: "alipay" });
    const moved = await env.waitForAttempt(orderId, (p) => p.status === "pending", "a pending payment on another rail");
    expect(moved.provider).not.toBe("alipay");
    expect(moved.attempt).toBe(1);
    expect(moved.decision.dropped.find((d) => d.provider === "alipay")?.reasons).toContain("breaker_open");
    for (const id of stuck) {
      const attempts = await env.attempts(id);
      expect(attempts.map((a) => [a.provider, a.status])).toEqual([["alipay", "creating"]]);
    }
  }, 180_000);
});
