import { PROVIDER_IDS, sandboxProviderName } from "@tributary/contracts";
import { OrderRefundRequestedSchema } from "@tributary/contracts/order/v1/order_events";
import { feeFor, money, refundFee } from "@tributary/money";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { feeScheduleOf } from "../src/app/lifecycle-rules.js";
import { createProviderAdapters } from "../src/provider-adapters.js";
import { startPaymentRoutingTestEnv, type PaymentRoutingTestEnv } from "./payment-routing-test-env.js";

/*
 * The happy path on every rail, against the sandbox over HTTP with real Kafka and Postgres:
 * OrderAccepted → attempt stored + PaymentRouted → created at the provider (QR) → the buyer pays
 * → the provider's signed notification → PaymentCaptured with the provider's fee; a repeated
 * notification and a later query change nothing.
 */
describe("payment lifecycle: happy path per provider", () => {
  let env: PaymentRoutingTestEnv;
  beforeAll(async () => {
    // The first query comes late, so the capture arrives by notification.
    env = await startPaymentRoutingTestEnv({ timings: { firstQueryAfterMs: 20_000 } });
  });
  afterAll(async () => {
    await env.stop();
  });

  it.each(PROVIDER_IDS)("%s: routed, created as a QR payment, paid, notified, captured once with the fee", async (provider) => {
    const orderId = await env.acceptOrder({ preferred: provider, channel: "web", amountMinor: 129_902n });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", `a pending ${provider} payment`);
    expect(pending).toMatchObject({ provider, attempt: 1, amount: money(129_902n, "CNY"), buyerAction: { kind: "qr_code" } });
    const routed = await env.waitForEvent(orderId, "PaymentRouted");
    expect(routed).toMatchObject({ paymentId: pending.paymentId, merchantId: env.merchantId, routingRule: "preferred_by_buyer" });

    expect(env.pay(pending)).toBe(true);
    const captured = await env.waitForEvent(orderId, "PaymentCaptured");
    const schedule = feeScheduleOf(env.policy, provider, "CNY");
    expect(captured).toMatchObject({
      paymentId: pending.paymentId,
      orderId,
      amount: { currency: "CNY", amountMinor: 129_902n },
      fee: { currency: "CNY", amountMinor: schedule === undefined ? -1n : feeFor(money(129_902n, "CNY"), schedule).amountMinor },
    });
    const row = await env.waitForAttempt(orderId, (p) => p.status === "captured", "the captured row");
    expect(row.capturedAt).toBeInstanceOf(Date);
    expect(row.nextCheckAt).toBeUndefined();
    expect(env.notifications.some((n) => n.provider === provider && n.verified.ok && n.verified.value.report.paymentId === pending.paymentId && n.outcome === "applied")).toBe(true);

    // A query now, and any repeated notification, change nothing: one PaymentCaptured.
    const query = await env.adapters.find((a) => a.provider === provider)?.queryPayment(pending.paymentId, pending.amount);
    expect(query).toMatchObject({ ok: true });
    if (query?.ok === true) {
      const again = await env.service.pool.connect();
      try {
        await again.query("BEGIN");
        expect(await env.service.lifecycle.applyPaymentReport(again, pending.paymentId, query.value)).toMatchObject({ code: "ignored" });
        await again.query("COMMIT");
      } finally {
        again.release();
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(env.eventTypes(orderId)).toEqual(["PaymentRouted", "PaymentCaptured"]);
  });

  it.each(PROVIDER_IDS)("%s: a partial refund, then the rest — each PaymentRefunded once, the fees given back add up to the capture's", async (provider) => {
    const orderId = await env.acceptOrder({ preferred: provider, channel: "web", amountMinor: 20_000n });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", `a pending ${provider} payment`);
    expect(env.pay(pending)).toBe(true);
    await env.waitForEvent(orderId, "PaymentCaptured");
    const refund = (refundRef: string, amountMinor: bigint) =>
      env.publishOrders(orderId, OrderRefundRequestedSchema, { orderId, refundRef, amount: { currency: "CNY", amountMinor }, reason: "return" });
    await refund(`part-${provider}`, 7_500n);
    const first = await env.waitForEvent(orderId, "PaymentRefunded", (m) => m["refundRef"] === `part-${provider}`);
    await refund(`rest-${provider}`, 12_500n);
    const second = await env.waitForEvent(orderId, "PaymentRefunded", (m) => m["refundRef"] === `rest-${provider}`);
    const schedule = feeScheduleOf(env.policy, provider, "CNY");
    if (schedule === undefined) throw new Error(`no fee schedule for ${provider}`);
    const captured = money(20_000n, "CNY");
    const fee = feeFor(captured, schedule);
    expect(first["feeReturned"]).toMatchObject({ amountMinor: refundFee(captured, fee, money(7_500n, "CNY"), schedule.rounding).amountMinor });
    const returned = [first, second].reduce((total, m) => total + (m["feeReturned"] as { amountMinor: bigint }).amountMinor, 0n);
    expect(returned).toBe(fee.amountMinor);
    const [row] = await env.attempts(orderId);
    expect(row).toMatchObject({ status: "captured", refundedMinor: 20_000n });
    const atProvider = env.sandbox.transactions(sandboxProviderName(provider)).find((t) => t.outTradeNo === pending.paymentId);
    expect(atProvider?.refunds.map((r) => r.amountMinor)).toEqual([7_500n, 12_500n]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(env.eventTypes(orderId)).toEqual(["PaymentRouted", "PaymentCaptured", "PaymentRefunded", "PaymentRefunded"]);
  });

  it("unionpay: a restarted instance (a fresh adapter, nothing remembered) still finds the payment: its txnTime comes from the payment id", async () => {
    const orderId = await env.acceptOrder({ preferred: "unionpay", channel: "web", amountMinor: 3_300n });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", "a pending UnionPay payment");
    const [restarted] = createProviderAdapters(env.sandbox.providers, { only: ["unionpay"] });
    expect(await restarted?.queryPayment(pending.paymentId, pending.amount)).toMatchObject({ ok: true, value: { status: "pending" } });
    expect(env.pay(pending)).toBe(true);
    await env.waitForEvent(orderId, "PaymentCaptured");
    expect(await restarted?.queryPayment(pending.paymentId, pending.amount)).toMatchObject({ ok: true, value: { status: "captured" } });
    const never = `${pending.paymentId.slice(0, 12)}7${"0".repeat(19)}`;
    expect(await restarted?.queryPayment(never, pending.amount)).toMatchObject({ ok: false, error: { code: "not_found" } });
  });
});
