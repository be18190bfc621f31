/**
 * The Prisma read side returns the same batches as the SQL one (pg-batches.ts) from the real
 * database — every field, including dates, bigint amounts, the derived merchant-borne provider fee,
 * a reconciliation id and a discrepancy count — for a list, its filters and a single batch.
 */
import { newEventId } from "@tributary/events";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyReconciliation, recordDiscrepancy } from "../src/app/apply-reconciliation.js";
import { closeBusinessDay } from "../src/app/close-business-day.js";
import { postAdjustment } from "../src/app/post-adjustment.js";
import { recordCapture } from "../src/app/record-capture.js";
import { getBatch, listBatches } from "../src/adapters/db/pg-batches.js";
import { createPrismaBatchReads, type BatchReads } from "../src/adapters/prisma/prisma-batch-reads.js";
import { captureOf, inTransaction, settlementDatabaseUrl, testDeps, uniqueMerchant } from "./ledger-test-env.js";

const DAY = "2024-07-01";
let pool: pg.Pool;
let reads: BatchReads;
const a = uniqueMerchant("prisma-a");
const b = uniqueMerchant("prisma-b");

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: settlementDatabaseUrl(), max: 2 });
  reads = createPrismaBatchReads({ databaseUrl: settlementDatabaseUrl() });
  const deps = testDeps();
  const captureOfB = captureOf(b, 7700n, { provider: "alipay", at: new Date(`${DAY}T13:00:00.000+08:00`) });
  for (const capture of [captureOf(a, 12345n, { provider: "alipay", at: new Date(`${DAY}T08:00:00.000+08:00`) }), captureOfB]) {
    await inTransaction(pool, (tx) => recordCapture(deps, tx, capture));
  }
  await inTransaction(pool, (tx) =>
    postAdjustment({ ...deps, clock: () => new Date(`${DAY}T20:00:00.000+08:00`) }, tx, {
      reference: `adj-${newEventId()}`, merchantId: a, provider: "alipay", currency: "CNY", amountMinor: -321n, reason: "test", approvedBy: "t", at: new Date(`${DAY}T20:00:00.000+08:00`),
    }),
  );
  const closed = await inTransaction(pool, (tx) => closeBusinessDay(deps, tx, { provider: "alipay", businessDate: DAY }));
  if (!closed.ok) throw new Error(closed.error.message);
  const reconciliationId = `recon-${newEventId()}`;
  await inTransaction(pool, async (tx) => {
    await recordDiscrepancy(tx, {
      eventId: newEventId(), reconciliationId, provider: "alipay", businessDate: DAY, discrepancyClass: "amount_mismatch",
      providerTransactionId: captureOfB.providerTransactionId!, currency: "CNY", ledgerAmountMinor: 7700n, billAmountMinor: 7600n, billLocation: "x:1", description: "d",
    });
    return applyReconciliation(deps, tx, { reconciliationId, provider: "alipay", businessDate: DAY, discrepancyCount: 1n });
  });
});

afterAll(async () => {
  await reads.stop();
  await pool.end();
});

describe("Prisma batch reads", () => {
  it("equal the SQL reads, field for field", async () => {
    const sql = await listBatches(pool, { businessDate: DAY, provider: "alipay" });
    expect(sql.map((x) => x.merchantId)).toEqual(expect.arrayContaining([a, b]));
    expect(await reads.listBatches({ businessDate: DAY, provider: "alipay" })).toEqual(sql);
    expect(await reads.listBatches({ businessDate: DAY })).toEqual(await listBatches(pool, { businessDate: DAY }));
    const ofB = await reads.listBatches({ businessDate: DAY, merchantId: b });
    expect(ofB).toHaveLength(1);
    expect(ofB[0]).toMatchObject({ status: "held", discrepancyCount: 1n, businessDate: DAY, settlementDate: "2024-07-02" });
    const ofA = sql.find((x) => x.merchantId === a)!;
    expect(ofA).toMatchObject({ status: "reconciled", adjustmentsMinor: -321n });
    expect(await reads.getBatch(ofA.batchId)).toEqual(await getBatch(pool, ofA.batchId));
    expect(await reads.getBatch(newEventId())).toBeUndefined();
    expect(await reads.listBatches({ businessDate: "2024-07-03" })).toEqual([]);
  });
});
