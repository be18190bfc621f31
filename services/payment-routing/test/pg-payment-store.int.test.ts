/**
 * The single-statement writes of the hot path against real Postgres: the first attempt's INSERT
 * that checks the order itself, the batched record of provider answers to creates, and the
 * webhook's BEGIN + id INSERT + payment lock in one round trip.
 */
import { money } from "@tributary/money";
import { freshTestDatabase } from "@tributary/testkit/vitest";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inTransaction } from "../src/adapters/db/in-transaction.js";
import { createPgPaymentStore } from "../src/adapters/db/pg-payment-store.js";
import { beginAndRecordNotificationId } from "../src/adapters/http/notification-store.js";
import type { PaymentRecord } from "../src/app/ports.js";

const store = createPgPaymentStore();
let database: Awaited<ReturnType<typeof freshTestDatabase>>;
let pool: pg.Pool;
let sequence = 0;

beforeAll(async () => {
  database = await freshTestDatabase("tributary_payment_routing");
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
});

afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

function attempt(overrides: Partial<PaymentRecord> = {}): PaymentRecord {
  sequence += 1;
  const now = new Date("2026-12-01T10:00:00.000Z");
  return {
    paymentId: `p${sequence}${"0".repeat(20)}`,
    orderId: `order-${sequence}`,
    merchantId: "m-1",
    buyerId: "b-1",
    buyerAccounts: { wechat_pay: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" },
    provider: "alipay",
    channel: "web",
    attempt: 1,
    status: "creating",
    amount: money(12_34n, "CNY"),
    routingRule: "preferred_by_buyer",
    decision: { policyVersion: 1, candidates: [{ provider: "alipay", tier: "preferred", reasons: ["preferred_by_buyer"] }], dropped: [], matchedRuleIds: [], explored: false },
    rolloutId: undefined,
    rolloutArm: undefined,
    buyerAction: undefined,
    providerTransactionId: undefined,
    providerStatus: "sending",
    failureReason: undefined,
    refundedMinor: 0n,
    createdAt: now,
    updatedAt: now,
    expiresAt: new Date(now.getTime() + 15 * 60_000),
    nextCheckAt: new Date(now.getTime() + 60_000),
    capturedAt: undefined,
    traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    ...overrides,
  };
}

const load = async (paymentId: string) => (await store.loadPayment(pool, paymentId, { forUpdate: false }))!;

describe("insertFirstPayment", () => {
  it("inserts an order's first attempt, every field as given, and refuses a second one for the same order", async () => {
    const first = attempt();
    expect(await inTransaction(pool, (tx) => store.insertFirstPayment(tx, first))).toBe(true);
    expect(await load(first.paymentId)).toEqual(first);
    const again = attempt({ orderId: first.orderId });
    expect(await inTransaction(pool, (tx) => store.insertFirstPayment(tx, again))).toBe(false);
    expect(await store.paymentsOfOrder(pool, first.orderId, { forUpdate: false })).toHaveLength(1);
  });

  it("refuses it also when the order's earlier attempt failed (a redelivery after a failover)", async () => {
    const failed = attempt({ status: "failed", failureReason: "rejected", nextCheckAt: undefined });
    await inTransaction(pool, (tx) => store.insertPayment(tx, failed));
    expect(await inTransaction(pool, (tx) => store.insertFirstPayment(tx, attempt({ orderId: failed.orderId })))).toBe(false);
  });
});

describe("recordCreated", () => {
  it("turns creating rows pending with the first query capped at the expiry, keeps a row a notification moved on, skips unknown ids", async () => {
    const early = attempt();
    const late = attempt({ expiresAt: new Date("2026-12-01T10:00:10.000Z") });
    const paid = attempt({ status: "captured", providerStatus: "TRADE_SUCCESS", capturedAt: new Date("2026-12-01T10:00:01.000Z"), nextCheckAt: undefined });
    for (const row of [early, late, paid]) await inTransaction(pool, (tx) => store.insertPayment(tx, row));
    const now = new Date("2026-12-01T10:00:02.000Z");
    const firstQueryAt = new Date("2026-12-01T10:00:32.000Z");
    const qr = { kind: "qr_code", url: "https://qr.example/1" } as const;
    await store.recordCreated(
      pool,
      [early, late, paid, attempt()].map((row) => ({ paymentId: row.paymentId, buyerAction: qr, firstQueryAt })),
      now,
    );
    expect(await load(early.paymentId)).toEqual({ ...early, status: "pending", providerStatus: "created", buyerAction: qr, nextCheckAt: firstQueryAt, updatedAt: now });
    expect(await load(late.paymentId)).toEqual({ ...late, status: "pending", providerStatus: "created", buyerAction: qr, nextCheckAt: late.expiresAt, updatedAt: now });
    expect(await load(paid.paymentId)).toEqual({ ...paid, buyerAction: qr, updatedAt: now });
  });
});

describe("beginAndRecordNotificationId", () => {
  it("opens the transaction, stores a new id and returns the payment locked; a second copy is a duplicate and locks nothing", async () => {
    const payment = attempt({ status: "pending", providerStatus: "created" });
    await inTransaction(pool, (tx) => store.insertPayment(tx, payment));
    const receivedAt = new Date("2026-12-01T10:00:03.000Z");
    const client = await pool.connect();
    const other = await pool.connect();
    try {
      const recorded = await beginAndRecordNotificationId(client, "alipay", "notify-'1", payment.paymentId, receivedAt, { lockPayment: true });
      expect(recorded).toEqual({ fresh: true, traceParent: payment.traceParent, payment: { record: payment } });
      // The row is locked by this transaction: another one cannot take it.
      await other.query("SET lock_timeout = '200ms'");
      await expect(other.query("SELECT 1 FROM payments WHERE payment_id = $1 FOR UPDATE", [payment.paymentId])).rejects.toThrow(/lock timeout/);
      await client.query("COMMIT");

      const duplicate = await beginAndRecordNotificationId(client, "alipay", "notify-'1", payment.paymentId, receivedAt, { lockPayment: true });
      expect(duplicate).toEqual({ fresh: false });
      const { rows } = await other.query("SELECT payment_id FROM payments WHERE payment_id = $1 FOR UPDATE NOWAIT", [payment.paymentId]);
      expect(rows).toHaveLength(1);
      await client.query("ROLLBACK");

      const stored = await pool.query("SELECT provider, notification_id, payment_id, received_at FROM webhook_notifications WHERE notification_id = $1", ["notify-'1"]);
      expect(stored.rows).toEqual([{ provider: "alipay", notification_id: "notify-'1", payment_id: payment.paymentId, received_at: receivedAt }]);
    } finally {
      client.release();
      other.release();
    }
  });

  it("answers fresh without a record for a payment that is not ours, and reads only the traceparent for refunds", async () => {
    const client = await pool.connect();
    try {
      expect(await beginAndRecordNotificationId(client, "wechat_pay", "n-unknown", "nobody", new Date(), { lockPayment: true })).toEqual({
        fresh: true,
        traceParent: undefined,
        payment: { record: undefined },
      });
      await client.query("ROLLBACK");
      const payment = attempt();
      await inTransaction(pool, (tx) => store.insertPayment(tx, payment));
      expect(await beginAndRecordNotificationId(client, "wechat_pay", "n-refund", payment.paymentId, new Date(), { lockPayment: false })).toEqual({
        fresh: true,
        traceParent: payment.traceParent,
      });
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
  });
});
