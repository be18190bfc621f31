/**
 * Settlement batches on the real Postgres: the 00:00 Asia/Shanghai cut-off splits 23:59:59.999
 * from 00:00:00.000, closing a day twice changes nothing and publishes once, a day is not closed
 * before its cut-off, a negative net is carried forward into the next batch, the rolling reserve
 * is withheld and released on the right day, a late capture goes into the next batch, and every
 * batch's net equals what the ledger moved on the merchant's payable account.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { closeBusinessDay } from "../src/app/close-business-day.js";
import { recordCapture } from "../src/app/record-capture.js";
import { recordRefund } from "../src/app/record-refund.js";
import { balancesNow } from "../src/adapters/db/pg-ledger.js";
import { accountIdOf, accounts } from "../src/domain/account.js";
import { DEFAULT_FEE_TERMS, type FeeTerms } from "../src/domain/fee-terms.js";
import type { SettlementBatch } from "../src/domain/settlement-batch.js";
import { captureOf, inTransaction, settlementDatabaseUrl, testDeps, uniqueMerchant } from "./ledger-test-env.js";

let pool: pg.Pool;
beforeAll(() => {
  pool = new pg.Pool({ connectionString: settlementDatabaseUrl(), max: 4 });
});
afterAll(async () => {
  await pool.end();
});

const reserveMerchant = uniqueMerchant("reserve");
const terms: FeeTerms = {
  ...DEFAULT_FEE_TERMS,
  merchants: { [reserveMerchant]: { ...DEFAULT_FEE_TERMS.defaultMerchant, reservePpm: 100_000n, reserveDays: 2, reserveRounding: "down" } },
};
const deps = testDeps(terms);

async function close(provider: "alipay" | "wechat_pay" | "unionpay" | "jd_pay" | "ecny", businessDate: string) {
  const result = await inTransaction(pool, (tx) => closeBusinessDay(deps, tx, { provider, businessDate }));
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

function batchOf(batches: readonly SettlementBatch[], merchantId: string): SettlementBatch | undefined {
  return batches.find((b) => b.merchantId === merchantId);
}

/** What the ledger moved on the merchant's payable for the batch's entries (credit-positive). */
async function payableMoved(batchId: string, merchantId: string): Promise<bigint> {
  const { rows } = await pool.query<{ s: string | null }>(
    `SELECT -sum(p.amount_minor) AS s FROM ledger_posting p JOIN batch_entry b ON b.entry_id = p.entry_id
      WHERE b.batch_id = $1 AND p.account_id = $2`,
    [batchId, accountIdOf(accounts.merchantPayable(merchantId, "CNY"))],
  );
  return BigInt(rows[0]?.s ?? "0");
}

describe("closing a business day", () => {
  it("puts 23:59:59.999 and 00:00:00.000 Asia/Shanghai into different batches, and is idempotent", async () => {
    const merchant = uniqueMerchant("cutoff");
    await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 10000n, { provider: "ecny", at: new Date("2025-03-10T15:59:59.999Z") })));
    await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 20000n, { provider: "ecny", at: new Date("2025-03-10T16:00:00.000Z") })));
    const first = await close("ecny", "2025-03-10");
    const day1 = batchOf(first.batches, merchant)!;
    expect(first.alreadyClosed).toBe(false);
    expect(day1).toMatchObject({ paymentCount: 1n, grossMinor: 10000n, providerFeesMinor: 0n, platformFeesMinor: 50n, netMinor: 9950n, payableMinor: 9950n, settlementDate: "2025-03-11", status: "closed" });

    const again = await close("ecny", "2025-03-10");
    expect(again.alreadyClosed).toBe(true);
    expect(batchOf(again.batches, merchant)).toEqual(day1);
    const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE topic = 'settlement.v1' AND message_key = $1", [day1.batchId]);
    expect(rows[0]!.n).toBe("1");

    const day2 = batchOf((await close("ecny", "2025-03-11")).batches, merchant)!;
    expect(day2).toMatchObject({ paymentCount: 1n, grossMinor: 20000n });
    expect(await payableMoved(day1.batchId, merchant)).toBe(day1.netMinor - day1.carriedInMinor);
    expect(await payableMoved(day2.batchId, merchant)).toBe(day2.netMinor - day2.carriedInMinor);
  });

  it("is refused before the day's cut-off", async () => {
    const tomorrow = new Date(Date.now() + 24 * 60 * 60 * 1000 + 8 * 60 * 60 * 1000).toISOString().slice(0, 10);
    const result = await inTransaction(pool, (tx) => closeBusinessDay(deps, tx, { provider: "ecny", businessDate: tomorrow }));
    expect(result).toMatchObject({ ok: false, error: { code: "day_not_over" } });
    const bad = await inTransaction(pool, (tx) => closeBusinessDay(deps, tx, { provider: "ecny", businessDate: "2025-02-30" }));
    expect(bad).toMatchObject({ ok: false, error: { code: "invalid_business_date" } });
  });

  it("carries a negative net forward into the merchant's next batch instead of debiting it", async () => {
    const merchant = uniqueMerchant("negative");
    const capture = captureOf(merchant, 50000n, { provider: "alipay", at: new Date("2025-04-01T04:00:00.000Z") });
    await inTransaction(pool, (tx) => recordCapture(deps, tx, capture));
    const d1 = batchOf((await close("alipay", "2025-04-01")).batches, merchant)!;
    // 500.00 − 3.00 fee − 2.50 commission
    expect(d1.payableMinor).toBe(49450n);
    // Next day: a 400.00 refund of that payment and a 100.00 sale.
    await inTransaction(pool, (tx) =>
      recordRefund(deps, tx, { orderId: capture.orderId, paymentId: capture.paymentId, refundRef: "r", amountMinor: 40000n, currency: "CNY", eventId: undefined, providerRefundId: "R1", at: new Date("2025-04-02T04:00:00.000Z") }),
    );
    await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 10000n, { provider: "alipay", at: new Date("2025-04-02T05:00:00.000Z") })));
    const d2 = batchOf((await close("alipay", "2025-04-02")).batches, merchant)!;
    // 100.00 − 0.60 − 0.50 − (400.00 − 2.40 − 2.00) = 98.90 − 395.60 = −296.70
    expect(d2).toMatchObject({ grossMinor: 10000n, refundsMinor: 40000n, providerFeesMinor: 60n - 240n, netMinor: -29670n, payableMinor: 0n, carriedForwardMinor: -29670n });
    await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 100000n, { provider: "alipay", at: new Date("2025-04-03T05:00:00.000Z") })));
    const d3 = batchOf((await close("alipay", "2025-04-03")).batches, merchant)!;
    // 1000.00 − 6.00 − 5.00 − 296.70
    expect(d3).toMatchObject({ carriedInMinor: -29670n, netMinor: 98900n - 29670n, payableMinor: 69230n, carriedForwardMinor: 0n });
    for (const batch of [d1, d2, d3]) expect(await payableMoved(batch.batchId, merchant)).toBe(batch.netMinor - batch.carriedInMinor);
  });

  it("withholds the rolling reserve and releases it on the right day", async () => {
    const merchant = reserveMerchant;
    await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 100000n, { provider: "unionpay", at: new Date("2025-05-01T04:00:00.000Z") })));
    const d1 = batchOf((await close("unionpay", "2025-05-01")).batches, merchant)!;
    // 1000.00 − 3.80 − 5.00 = 991.20; 10 % down = 99.12 withheld
    expect(d1).toMatchObject({ reserveWithheldMinor: 9912n, netMinor: 99120n - 9912n, reserveReleasedMinor: 0n });
    const reserveAccount = accountIdOf(accounts.merchantReserve(merchant, "CNY"));
    expect((await balancesNow(pool, [reserveAccount]))[0]?.postedMinor).toBe(-9912n);
    // Day 2: a small sale; the reserve is not due yet (held 2 days: released on 05-03).
    await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 1000n, { provider: "unionpay", at: new Date("2025-05-02T04:00:00.000Z") })));
    const d2 = batchOf((await close("unionpay", "2025-05-02")).batches, merchant)!;
    expect(d2.reserveReleasedMinor).toBe(0n);
    // Day 3: no sales at all, yet a batch releases the reserve of day 1.
    const d3 = batchOf((await close("unionpay", "2025-05-03")).batches, merchant)!;
    expect(d3).toMatchObject({ paymentCount: 0n, reserveReleasedMinor: 9912n, reserveWithheldMinor: 0n, netMinor: 9912n });
    // Day 4: day 2's reserve (10 % of 9.91 = 0.99) is released; day 1's is not released twice.
    const d4 = batchOf((await close("unionpay", "2025-05-04")).batches, merchant)!;
    expect(d4.reserveReleasedMinor).toBe(d2.reserveWithheldMinor);
    expect((await balancesNow(pool, [reserveAccount]))[0]?.postedMinor).toBe(0n);
    for (const batch of [d1, d2, d3, d4]) expect(await payableMoved(batch.batchId, merchant)).toBe(batch.netMinor - batch.carriedInMinor);
  });

  it("puts a capture booked on a closed day into the next batch", async () => {
    const merchant = uniqueMerchant("late");
    await close("wechat_pay", "2025-06-01");
    await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 3000n, { provider: "wechat_pay", at: new Date("2025-06-01T10:00:00.000Z") })));
    const next = batchOf((await close("wechat_pay", "2025-06-02")).batches, merchant);
    expect(next).toMatchObject({ businessDate: "2025-06-02", paymentCount: 1n, grossMinor: 3000n });
  });
});

describe("approved adjustments", () => {
  it("post through suspense once, with reason and approver, and the merchant's next batch takes them in", async () => {
    const { postAdjustment } = await import("../src/app/post-adjustment.js");
    const merchant = uniqueMerchant("adjust");
    await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 10000n, { provider: "jd_pay", at: new Date("2025-11-03T04:00:00.000Z") })));
    const adjustment = { reference: `ticket-${merchant}`, merchantId: merchant, provider: "jd_pay" as const, currency: "CNY" as const, amountMinor: 123n, reason: "fee difference found by reconciliation", approvedBy: "finance-lead", at: new Date("2025-11-03T05:00:00.000Z") };
    expect(await inTransaction(pool, (tx) => postAdjustment(deps, tx, { ...adjustment, approvedBy: " " }))).toMatchObject({ ok: false, error: { code: "approver_required" } });
    expect(await inTransaction(pool, (tx) => postAdjustment(deps, tx, { ...adjustment, reason: "" }))).toMatchObject({ ok: false, error: { code: "reason_required" } });
    expect(await inTransaction(pool, (tx) => postAdjustment(deps, tx, adjustment))).toMatchObject({ ok: true, value: { posted: true } });
    expect(await inTransaction(pool, (tx) => postAdjustment(deps, tx, adjustment))).toMatchObject({ ok: true, value: { posted: false } });
    const batch = batchOf((await close("jd_pay", "2025-11-03")).batches, merchant)!;
    // 100.00 − 0.60 − 0.50 + 1.23
    expect(batch).toMatchObject({ adjustmentsMinor: 123n, netMinor: 10000n - 60n - 50n + 123n });
    expect(await payableMoved(batch.batchId, merchant)).toBe(batch.netMinor);
    const { rows } = await pool.query<{ memo: string; approved_by: string }>("SELECT memo, approved_by FROM journal_entry WHERE source_key = $1", [`adjustment:ticket-${merchant}`]);
    expect(rows).toEqual([{ memo: "fee difference found by reconciliation", approved_by: "finance-lead" }]);
  });
});
