/**
 * The `payments.v1` and `orders.v1` consumers on the real broker: a capture posts once even when
 * delivered twice (same event id) and when republished under a new event id; a refund request
 * reserves, its completion posts and releases the reservation; a failed refund voids it; a refund
 * past the captured amount and a capture without its booking time are dead letters, not postings.
 */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { OrderRefundRequestedSchema } from "@tributary/contracts/order/v1/order_events";
import { PaymentCapturedSchema, PaymentRefundedSchema, RefundFailedSchema } from "@tributary/contracts/payment/v1/payment_events";
import { newEventId } from "@tributary/events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { balancesNow } from "../src/adapters/db/pg-ledger.js";
import { accountIdOf, accounts } from "../src/domain/account.js";
import { uniqueMerchant } from "./ledger-test-env.js";
import { startSettlementTestEnv, type SettlementTestEnv } from "./settlement-test-env.js";

let env: SettlementTestEnv;

beforeAll(async () => {
  env = await startSettlementTestEnv();
});
afterAll(async () => {
  await env.stop();
});

function capture(merchantId: string, orderId: string, paymentId: string, amountMinor: bigint) {
  return {
    paymentId,
    orderId,
    merchantId,
    provider: Provider.WECHAT_PAY,
    providerTransactionId: `wx-${paymentId.slice(-10)}`,
    amount: { currency: "CNY", amountMinor },
    capturedAt: timestampFromDate(new Date()),
  };
}

async function entries(paymentId: string): Promise<{ entry_type: string; phase: string }[]> {
  const { rows } = await env.pool.query<{ entry_type: string; phase: string }>(
    "SELECT entry_type, phase FROM journal_entry WHERE payment_id = $1 ORDER BY recorded_at, entry_id",
    [paymentId],
  );
  return rows;
}

async function payable(merchantId: string) {
  const [balance] = await balancesNow(env.pool, [accountIdOf(accounts.merchantPayable(merchantId, "CNY"))]);
  return balance!;
}

describe("payments.v1 → ledger", () => {
  it("posts a capture once: redelivered, and republished under another event id", async () => {
    const merchant = uniqueMerchant("consume");
    const orderId = `order-${newEventId()}`;
    const paymentId = `pay-${newEventId()}`;
    const message = capture(merchant, orderId, paymentId, 10000n);
    const eventId = await env.publish("payments.v1", orderId, PaymentCapturedSchema, message);
    await env.publish("payments.v1", orderId, PaymentCapturedSchema, message, eventId);
    const other = await env.publish("payments.v1", orderId, PaymentCapturedSchema, message);
    await env.applied(env.paymentsGroupId, other);
    expect(await entries(paymentId)).toEqual([{ entry_type: "payment_captured", phase: "posted" }]);
    expect((await payable(merchant)).postedMinor).toBe(-(10000n - 60n - 50n));
  });

  it("reserves a requested refund, posts it on completion and voids one that failed", async () => {
    const merchant = uniqueMerchant("refunds");
    const orderId = `order-${newEventId()}`;
    const paymentId = `pay-${newEventId()}`;
    await env.publish("payments.v1", orderId, PaymentCapturedSchema, capture(merchant, orderId, paymentId, 20000n));
    const capturedAt = await env.publish("payments.v1", orderId, PaymentCapturedSchema, capture(merchant, orderId, paymentId, 20000n));
    await env.applied(env.paymentsGroupId, capturedAt);
    const posted0 = (await payable(merchant)).postedMinor;

    const ok = await env.publish("orders.v1", orderId, OrderRefundRequestedSchema, { orderId, refundRef: "rf-ok", amount: { currency: "CNY", amountMinor: 5000n }, reason: "size" });
    const bad = await env.publish("orders.v1", orderId, OrderRefundRequestedSchema, { orderId, refundRef: "rf-fail", amount: { currency: "CNY", amountMinor: 3000n }, reason: "size" });
    await env.applied(env.ordersGroupId, ok);
    await env.applied(env.ordersGroupId, bad);
    const reserved = await payable(merchant);
    expect(reserved.postedMinor).toBe(posted0);
    expect(reserved.pendingDebitsMinor).toBe(8000n);

    const done = await env.publish("payments.v1", orderId, PaymentRefundedSchema, {
      paymentId, orderId, merchantId: merchant, provider: Provider.WECHAT_PAY, refundRef: "rf-ok", providerRefundId: "wxr-1",
      amount: { currency: "CNY", amountMinor: 5000n }, refundedAt: timestampFromDate(new Date()),
    });
    const failed = await env.publish("payments.v1", orderId, RefundFailedSchema, { paymentId, orderId, refundRef: "rf-fail", reasonCode: "insufficient_balance" });
    await env.applied(env.paymentsGroupId, done);
    await env.applied(env.paymentsGroupId, failed);
    const after = await payable(merchant);
    // 50.00 refunded; fee 0.30 and commission 0.25 given back
    expect(after.postedMinor).toBe(posted0 + 5000n - 30n - 25n);
    expect(after.pendingDebitsMinor).toBe(0n);
    const { rows } = await env.pool.query<{ outcome: string; n: string }>(
      "SELECT r.outcome, count(*) AS n FROM pending_resolution r JOIN journal_entry e ON e.entry_id = r.pending_entry_id WHERE e.payment_id = $1 GROUP BY r.outcome ORDER BY r.outcome",
      [paymentId],
    );
    expect(rows).toEqual([{ outcome: "posted", n: "1" }, { outcome: "voided", n: "1" }]);
  });

  it("dead-letters a refund past the captured amount and a capture without its booking time, posting nothing", async () => {
    const merchant = uniqueMerchant("dlq");
    const orderId = `order-${newEventId()}`;
    const paymentId = `pay-${newEventId()}`;
    const captured = await env.publish("payments.v1", orderId, PaymentCapturedSchema, capture(merchant, orderId, paymentId, 1000n));
    await env.applied(env.paymentsGroupId, captured);
    const tooMuch = await env.publish("payments.v1", orderId, PaymentRefundedSchema, {
      paymentId, orderId, merchantId: merchant, provider: Provider.WECHAT_PAY, refundRef: "rf-big",
      amount: { currency: "CNY", amountMinor: 1001n }, refundedAt: timestampFromDate(new Date()),
    });
    await env.applied(env.paymentsGroupId, tooMuch);
    const { rows: parked } = await env.pool.query<{ reason: string }>(
      "SELECT reason FROM parked_key WHERE consumer_group = $1 AND message_key = $2",
      [env.paymentsGroupId, orderId],
    );
    expect(parked[0]?.reason).toMatch(/refund_exceeds_capture/);

    const otherOrder = `order-${newEventId()}`;
    const noTime = await env.publish("payments.v1", otherOrder, PaymentCapturedSchema, { ...capture(merchant, otherOrder, `pay-${newEventId()}`, 500n), capturedAt: undefined });
    await env.applied(env.paymentsGroupId, noTime);
    const { rows: parkedTime } = await env.pool.query<{ reason: string }>(
      "SELECT reason FROM parked_key WHERE consumer_group = $1 AND message_key = $2",
      [env.paymentsGroupId, otherOrder],
    );
    expect(parkedTime[0]?.reason).toMatch(/capturedAt/);
    expect(await entries(paymentId)).toEqual([{ entry_type: "payment_captured", phase: "posted" }]);
  });
});
