import type { ProviderId } from "@tributary/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningPaymentRoutingService } from "../src/payment-routing-service.js";
import { eventually, startPaymentRoutingTestEnv, type PaymentRoutingTestEnv } from "./payment-routing-test-env.js";

/*
 * Two instances of the service on one database and one consumer group: each payment is created
 * at its provider once and captured once, whichever instance's worker claims it (FOR UPDATE SKIP
 * LOCKED and a lease on next_check_at), and a lost notification is queried by one of them.
 */
describe("payment lifecycle: two instances", () => {
  let env: PaymentRoutingTestEnv;
  let second: RunningPaymentRoutingService;
  beforeAll(async () => {
    env = await startPaymentRoutingTestEnv({
      // Notifications from JD Pay are lost: its captures are found by the sweepers' queries.
      sandbox: { faults: { jdpay: { lostNotifyRate: 1 } } },
      timings: { firstQueryAfterMs: 5_000, queryIntervalMs: 60_000 },
    });
    second = await env.startInstance();
  });
  afterAll(async () => {
    await env.stop();
  });

  it("twelve orders across both instances: every payment created once and captured once", async () => {
    const rails: readonly ProviderId[] = ["ecny", "jd_pay", "wechat_pay"];
    const orderIds: string[] = [];
    for (let i = 0; i < 12; i += 1) orderIds.push(await env.acceptOrder({ preferred: rails[i % rails.length] ?? "ecny", amountMinor: 1_000n + BigInt(i) }));
    for (const orderId of orderIds) {
      const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", `order ${orderId} pending`);
      expect(env.pay(pending)).toBe(true);
    }
    for (const orderId of orderIds) await env.waitForEvent(orderId, "PaymentCaptured", () => true, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const orderId of orderIds) {
      expect(env.eventTypes(orderId)).toEqual(["PaymentRouted", "PaymentCaptured"]);
      expect(await env.attempts(orderId)).toHaveLength(1);
    }
    // Every provider call either instance made: twelve creates, and one query per JD Pay payment
    // (its notifications are lost) — never a second create or a doubled query.
    const calls = await eventually(() => {
      const now = new Date();
      const count = (service: RunningPaymentRoutingService) =>
        service.health.snapshot(rails, now).reduce((total, h) => total + h.health.attempts, 0);
      return count(env.service) + count(second);
    }, "health totals");
    expect(calls).toBe(12 + 4);
    const captured = await env.pool.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM payments WHERE merchant_id = $1 AND status = 'captured'",
      [env.merchantId],
    );
    expect(captured.rows[0]?.n).toBe("12");
  });
});
