/**
 * Reconciliation feedback over the real broker: a run with a discrepancy on one merchant's record
 * holds that merchant's batch (with the exception kept) and reconciles the other's; a later clean
 * run reconciles the held batch; a discrepancy no record of ours explains (a row only the bill
 * has) holds every batch of the day. Each decision goes out through the outbox.
 */
import { Provider } from "@tributary/contracts/common/v1/provider";
import { DiscrepancyClass, DiscrepancyFoundSchema, ExceptionResolvedSchema, ReconciliationCompletedSchema } from "@tributary/contracts/reconciliation/v1/reconciliation_events";
import { newEventId } from "@tributary/events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeBusinessDay } from "../src/app/close-business-day.js";
import { recordCapture } from "../src/app/record-capture.js";
import { getBatch } from "../src/adapters/db/pg-batches.js";
import type { SettlementBatch } from "../src/domain/settlement-batch.js";
import { captureOf, inTransaction, testDeps, uniqueMerchant } from "./ledger-test-env.js";
import { startSettlementTestEnv, type SettlementTestEnv } from "./settlement-test-env.js";

let env: SettlementTestEnv;
const deps = testDeps();
beforeAll(async () => {
  env = await startSettlementTestEnv();
});
afterAll(async () => {
  await env.stop();
});

async function closedDay(businessDate: string, merchants: readonly string[]): Promise<{ batches: SettlementBatch[]; txIds: string[] }> {
  const txIds: string[] = [];
  for (const merchant of merchants) {
    const capture = captureOf(merchant, 8800n, { provider: "wechat_pay", at: new Date(`${businessDate}T12:00:00.000+08:00`) });
    txIds.push(capture.providerTransactionId!);
    await inTransaction(env.pool, (tx) => recordCapture(deps, tx, capture));
  }
  const closed = await inTransaction(env.pool, (tx) => closeBusinessDay(deps, tx, { provider: "wechat_pay", businessDate }));
  if (!closed.ok) throw new Error(closed.error.message);
  return { batches: closed.value.batches.filter((b) => merchants.includes(b.merchantId)), txIds };
}

async function outboxTypes(batchId: string): Promise<string[]> {
  const { rows } = await env.pool.query<{ event_type: string }>("SELECT event_type FROM outbox WHERE message_key = $1 ORDER BY id", [batchId]);
  return rows.map((r) => r.event_type.replace("tributary.settlement.v1.", ""));
}

describe("reconciliation.v1 → batches", () => {
  it("holds the batch with a discrepancy, reconciles the clean one, and reconciles the held one after a clean run", async () => {
    const day = "2025-08-01";
    const a = uniqueMerchant("recon-a");
    const b = uniqueMerchant("recon-b");
    const { batches, txIds } = await closedDay(day, [a, b]);
    const run1 = `recon-${newEventId()}`;
    const key = `wechat_pay/${day}`;
    await env.publish("reconciliation.v1", key, DiscrepancyFoundSchema, {
      reconciliationId: run1, provider: Provider.WECHAT_PAY, billDate: day, discrepancyClass: DiscrepancyClass.FEE_MISMATCH,
      providerTransactionId: txIds[0]!, ledgerAmount: { currency: "CNY", amountMinor: 53n }, billAmount: { currency: "CNY", amountMinor: 54n },
      billLocation: "wechat_20250801.csv:7", description: "fee 0.53 vs 0.54",
    });
    const done1 = await env.publish("reconciliation.v1", key, ReconciliationCompletedSchema, { reconciliationId: run1, provider: Provider.WECHAT_PAY, billDate: day, discrepancyCount: 1n });
    await env.applied(env.reconciliationGroupId, done1);
    const batchA = batches.find((x) => x.merchantId === a)!;
    const batchB = batches.find((x) => x.merchantId === b)!;
    expect(await getBatch(env.pool, batchA.batchId)).toMatchObject({ status: "held", reconciliationId: run1, discrepancyCount: 1n });
    expect(await getBatch(env.pool, batchB.batchId)).toMatchObject({ status: "reconciled", reconciliationId: run1 });
    const { rows } = await env.pool.query<{ merchant_id: string; bill_location: string }>("SELECT merchant_id, bill_location FROM reconciliation_discrepancy WHERE reconciliation_id = $1", [run1]);
    expect(rows).toEqual([{ merchant_id: a, bill_location: "wechat_20250801.csv:7" }]);

    const run2 = `recon-${newEventId()}`;
    const done2 = await env.publish("reconciliation.v1", key, ReconciliationCompletedSchema, { reconciliationId: run2, provider: Provider.WECHAT_PAY, billDate: day, discrepancyCount: 0n });
    await env.applied(env.reconciliationGroupId, done2);
    expect(await getBatch(env.pool, batchA.batchId)).toMatchObject({ status: "reconciled", reconciliationId: run2 });
    expect(await outboxTypes(batchA.batchId)).toEqual(["SettlementBatchClosed", "SettlementBatchHeld", "SettlementBatchReconciled"]);
    expect(await outboxTypes(batchB.batchId)).toEqual(["SettlementBatchClosed", "SettlementBatchReconciled"]);
  });

  it("holds every batch of the day for a discrepancy no record of ours explains, or one reported but never received", async () => {
    const day = "2025-08-02";
    const { batches } = await closedDay(day, [uniqueMerchant("recon-c"), uniqueMerchant("recon-d")]);
    const run = `recon-${newEventId()}`;
    const key = `wechat_pay/${day}`;
    await env.publish("reconciliation.v1", key, DiscrepancyFoundSchema, {
      reconciliationId: run, provider: Provider.WECHAT_PAY, billDate: day, discrepancyClass: DiscrepancyClass.MISSING_IN_LEDGER,
      providerTransactionId: "4200000000000000000000", billAmount: { currency: "CNY", amountMinor: 100n }, billLocation: "bill.csv:9", description: "only in the bill",
    });
    // The run says 2, only 1 arrived: the missing one counts as unexplained too.
    const done = await env.publish("reconciliation.v1", key, ReconciliationCompletedSchema, { reconciliationId: run, provider: Provider.WECHAT_PAY, billDate: day, discrepancyCount: 2n });
    await env.applied(env.reconciliationGroupId, done);
    for (const batch of batches) expect(await getBatch(env.pool, batch.batchId)).toMatchObject({ status: "held", discrepancyCount: 2n });
  });

  it("releases a held batch once every exception that held it is closed, and not while one is open or one never arrived", async () => {
    const day = "2025-08-03";
    const e = uniqueMerchant("recon-e");
    const f = uniqueMerchant("recon-f");
    const { batches, txIds } = await closedDay(day, [e, f]);
    const run = `recon-${newEventId()}`;
    const key = `wechat_pay/${day}`;
    const [feeOfE, amountOfE, onlyInBill] = [newEventId(), newEventId(), newEventId()];
    const found = (exceptionId: string, providerTransactionId: string, discrepancyClass: DiscrepancyClass) =>
      env.publish("reconciliation.v1", key, DiscrepancyFoundSchema, {
        reconciliationId: run, provider: Provider.WECHAT_PAY, billDate: day, discrepancyClass, providerTransactionId,
        billAmount: { currency: "CNY", amountMinor: 1n }, billLocation: "wechat_20250803.csv:3", description: "test", exceptionId,
      });
    await found(feeOfE, txIds[0]!, DiscrepancyClass.FEE_MISMATCH);
    await found(amountOfE, txIds[0]!, DiscrepancyClass.AMOUNT_MISMATCH);
    await found(onlyInBill, "4200000000000000000803", DiscrepancyClass.MISSING_IN_LEDGER);
    await env.applied(env.reconciliationGroupId, await env.publish("reconciliation.v1", key, ReconciliationCompletedSchema, { reconciliationId: run, provider: Provider.WECHAT_PAY, billDate: day, discrepancyCount: 3n }));
    const ofE = batches.find((x) => x.merchantId === e)!;
    const ofF = batches.find((x) => x.merchantId === f)!;
    const status = async (batch: SettlementBatch) => (await getBatch(env.pool, batch.batchId))?.status;
    expect([await status(ofE), await status(ofF)]).toEqual(["held", "held"]);
    const resolve = async (exceptionId: string, adjustment?: { merchantId: string; amount: { currency: string; amountMinor: bigint } }) =>
      env.applied(
        env.reconciliationGroupId,
        await env.publish("reconciliation.v1", key, ExceptionResolvedSchema, {
          exceptionId, reconciliationId: run, provider: Provider.WECHAT_PAY, billDate: day, matchClass: "fee_mismatch", itemKey: "k",
          note: "checked with WeChat", resolvedBy: "finance-li", ...(adjustment === undefined ? {} : { adjustment }),
        }),
      );

    await resolve(feeOfE);
    expect([await status(ofE), await status(ofF)]).toEqual(["held", "held"]); // e's amount and the unattributed row are open
    await resolve(onlyInBill);
    expect([await status(ofE), await status(ofF)]).toEqual(["held", "reconciled"]); // f was held only by the unattributed row
    await resolve(amountOfE, { merchantId: e, amount: { currency: "CNY", amountMinor: 5n } });
    expect(await getBatch(env.pool, ofE.batchId)).toMatchObject({ status: "reconciled", reconciliationId: run, discrepancyCount: 0n });
    expect(await outboxTypes(ofE.batchId)).toEqual(["SettlementBatchClosed", "SettlementBatchHeld", "SettlementBatchReconciled"]);
    expect(await outboxTypes(ofF.batchId)).toEqual(["SettlementBatchClosed", "SettlementBatchHeld", "SettlementBatchReconciled"]);
    const { rows } = await env.pool.query<{ n: string }>("SELECT count(*) AS n FROM journal_entry WHERE source_key = $1", [`adjustment:recon-exception:${amountOfE}`]);
    expect(rows[0]?.n).toBe("1");
    // A replayed resolution changes nothing more.
    await resolve(amountOfE, { merchantId: e, amount: { currency: "CNY", amountMinor: 5n } });
    expect(await outboxTypes(ofE.batchId)).toHaveLength(3);
  });

  it("keeps a hold whose run reported more discrepancies than arrived, even when those that arrived are closed", async () => {
    const day = "2025-08-04";
    const { batches, txIds } = await closedDay(day, [uniqueMerchant("recon-g")]);
    const run = `recon-${newEventId()}`;
    const key = `wechat_pay/${day}`;
    const exceptionId = newEventId();
    await env.publish("reconciliation.v1", key, DiscrepancyFoundSchema, {
      reconciliationId: run, provider: Provider.WECHAT_PAY, billDate: day, discrepancyClass: DiscrepancyClass.FEE_MISMATCH, providerTransactionId: txIds[0]!,
      billAmount: { currency: "CNY", amountMinor: 1n }, billLocation: "wechat_20250804.csv:3", description: "fee", exceptionId,
    });
    await env.applied(env.reconciliationGroupId, await env.publish("reconciliation.v1", key, ReconciliationCompletedSchema, { reconciliationId: run, provider: Provider.WECHAT_PAY, billDate: day, discrepancyCount: 2n }));
    await env.applied(
      env.reconciliationGroupId,
      await env.publish("reconciliation.v1", key, ExceptionResolvedSchema, {
        exceptionId, reconciliationId: run, provider: Provider.WECHAT_PAY, billDate: day, matchClass: "fee_mismatch", itemKey: "k", note: "ok", resolvedBy: "finance-li",
      }),
    );
    expect((await getBatch(env.pool, batches[0]!.batchId))?.status).toBe("held");
  });
});
