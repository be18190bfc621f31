import { PROVIDER_IDS } from "@tributary/contracts";
import { feeFor, money } from "@tributary/money";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { feeScheduleOf } from "../src/app/lifecycle-rules.js";
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
});
