/**
 * Payouts and approved adjustments — the two ledger writes that are not payments or refunds —
 * and the batch detail, over real Postgres, Kafka and gRPC, on a database of this file's own (the
 * payout scheduler pays every due batch of its database):
 * - the payout scheduler pays a reconciled batch once its settlement date has come, once (two
 *   concurrent passes, then a third: one payout, one `PayoutInstructed` on settlement.v1, the
 *   ledger moving the payable net from merchant payable to payout clearing in a balanced entry),
 *   and leaves a held, a closed and an unconfigured batch unpaid;
 * - an approved adjustment arrives as `ExceptionResolved` on reconciliation.v1 and posts through
 *   suspense with its reason and approver, once per exception id; one that cannot be posted is
 *   dead-lettered with the reason; the merchant's next batch takes it in;
 * - the gRPC API has no method that writes ledger entries; StreamBatchEntries streams a batch's
 *   entries with their legs in chunks, merchant-bound like GetBatch.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { ExceptionResolvedSchema } from "@tributary/contracts/reconciliation/v1/reconciliation_events";
import { BatchStatus } from "@tributary/contracts/settlement/v1/settlement";
import { PayoutInstructedSchema } from "@tributary/contracts/settlement/v1/settlement_events";
import { SettlementService, type BatchEntry } from "@tributary/contracts/settlement/v1/settlement_service";
import { kafkaHeadersToRecord, newEventId } from "@tributary/events";
import { closeClient, Code, createClient, RpcError, type RpcClient } from "@tributary/grpc";
import { freshTestDatabase, testKafkaBrokers } from "@tributary/testkit/vitest";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyReconciliation, recordDiscrepancy } from "../src/app/apply-reconciliation.js";
import { closeBusinessDay } from "../src/app/close-business-day.js";
import { recordCapture } from "../src/app/record-capture.js";
import { PAYOUT_SCHEDULER, payDueBatches } from "../src/adapters/db/payout-scheduler.js";
import { setPayoutAccount } from "../src/adapters/db/pg-payouts.js";
import { balancesNow, writeEntries } from "../src/adapters/db/pg-ledger.js";
import { captureEntry } from "../src/domain/capture-entry.js";
import { DEFAULT_FEE_TERMS } from "../src/domain/fee-terms.js";
import type { SettlementBatch } from "../src/domain/settlement-batch.js";
import { captureOf, inTransaction, uniqueMerchant } from "./ledger-test-env.js";
import { eventually, financeToken, reconToken, startSettlementTestEnv, type SettlementTestEnv } from "./settlement-test-env.js";

const DAY1 = "2024-06-10";
const DAY2 = "2024-06-11";
const DAY3 = "2024-06-12";
const readerBToken = "reader-b-token-0004";
/** The service's clock: after DAY1 and DAY2 are over, during DAY3 (adjustments book on DAY3). */
let now = new Date(`${DAY3}T12:00:00.000+08:00`);

const a = uniqueMerchant("pay-a"); // reconciled, has a payout account
const b = uniqueMerchant("pay-b"); // held
const c = uniqueMerchant("pay-c"); // reconciled, no payout account
const e = uniqueMerchant("pay-e"); // 450 entries, for chunking
const accountOfA = "CN-ICBC-6222-0200-0001-中文";

let database: Awaited<ReturnType<typeof freshTestDatabase>>;
let env: SettlementTestEnv;
let readerB: RpcClient<typeof SettlementService>;
let finance: RpcClient<typeof SettlementService>;
const day1 = new Map<string, SettlementBatch>();
let day2OfA: SettlementBatch;

async function rpcError(call: Promise<unknown>): Promise<RpcError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof RpcError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

async function drain<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

async function outboxTypes(batchId: string): Promise<string[]> {
  const { rows } = await env.pool.query<{ event_type: string }>("SELECT event_type FROM outbox WHERE message_key = $1 ORDER BY id", [batchId]);
  return rows.map((r) => r.event_type.replace("tributary.settlement.v1.", ""));
}

async function payableOf(merchantId: string): Promise<bigint> {
  const [balance] = await balancesNow(env.pool, [`merchant_payable:${merchantId}:CNY`]);
  return balance?.postedMinor ?? 0n;
}

async function payoutClearing(): Promise<bigint> {
  const [balance] = await balancesNow(env.pool, ["payout_clearing:CNY"]);
  return balance?.postedMinor ?? 0n;
}

function sumLegs(entry: BatchEntry): bigint {
  return entry.postings.reduce((sum, p) => sum + (p.amount?.amountMinor ?? 0n), 0n);
}

beforeAll(async () => {
  database = await freshTestDatabase("tributary_settlement");
  env = await startSettlementTestEnv({
    databaseUrl: database.url,
    clock: () => now,
    tokens: { [readerBToken]: { id: "portal-b", scopes: ["settlement:read"], grants: { merchants: [b] } } },
  });
  const client = (token: string) => createClient(SettlementService, env.service.address, { bearerToken: token, defaultDeadlineMs: 30_000 });
  readerB = client(readerBToken);
  finance = client(financeToken);
  const deps = env.service.deps;
  const at = (day: string, hhmmss: string) => new Date(`${day}T${hhmmss}.000+08:00`);
  const captures = [
    captureOf(a, 10000n, { provider: "unionpay", at: at(DAY1, "09:00:00") }),
    captureOf(a, 5000n, { provider: "unionpay", at: at(DAY1, "10:00:00") }),
    captureOf(b, 8800n, { provider: "unionpay", at: at(DAY1, "11:00:00") }),
    captureOf(c, 3000n, { provider: "unionpay", at: at(DAY1, "12:00:00") }),
    captureOf(a, 2000n, { provider: "unionpay", at: at(DAY2, "12:00:00") }),
  ];
  for (const capture of captures) await inTransaction(env.pool, (tx) => recordCapture(deps, tx, capture));
  const start = at(DAY1, "00:00:01").getTime();
  const many = Array.from({ length: 450 }, (_, i) => captureOf(e, 100n + BigInt(i), { provider: "unionpay", at: new Date(start + (449 - i) * 60_000) }));
  await inTransaction(env.pool, (tx) => writeEntries(tx, many.map((x) => captureEntry(x, DEFAULT_FEE_TERMS, deps.newId()))));
  for (const day of [DAY1, DAY2]) {
    const closed = await inTransaction(env.pool, (tx) => closeBusinessDay(deps, tx, { provider: "unionpay", businessDate: day }));
    if (!closed.ok) throw new Error(closed.error.message);
    for (const batch of closed.value.batches) {
      if (day === DAY1) day1.set(batch.merchantId, batch);
      else if (batch.merchantId === a) day2OfA = batch;
    }
  }
  await setPayoutAccount(env.pool, a, "CNY", accountOfA);
  await setPayoutAccount(env.pool, b, "CNY", "CN-B-0001");
  // Reconcile DAY1: one fee mismatch on b's payment holds b; a, c and e are reconciled.
  const reconciliationId = `recon-${newEventId()}`;
  await inTransaction(env.pool, async (tx) => {
    await recordDiscrepancy(tx, {
      eventId: newEventId(), reconciliationId, provider: "unionpay", businessDate: DAY1, discrepancyClass: "fee_mismatch",
      providerTransactionId: captures[2]!.providerTransactionId!, currency: "CNY", ledgerAmountMinor: 33n, billAmountMinor: 34n,
      billLocation: "unionpay_20240610.csv:3", description: "fee 0.33 vs 0.34",
    });
    return applyReconciliation(deps, tx, { reconciliationId, provider: "unionpay", businessDate: DAY1, discrepancyCount: 1n });
  });
}, 120_000);

afterAll(async () => {
  for (const client of [readerB, finance]) closeClient(client);
  await env.stop();
  await database.drop();
});

describe("the payout scheduler", () => {
  it("pays nothing before the batch's settlement date", async () => {
    const batch = day1.get(a)!;
    now = new Date(`${batch.settlementDate}T00:00:00.000+08:00`);
    now = new Date(now.getTime() - 1);
    try {
      expect(await payDueBatches(env.pool, env.service.deps)).toEqual({ paid: [], refused: [] });
    } finally {
      now = new Date(`${DAY3}T12:00:00.000+08:00`);
    }
  });

  it("pays a reconciled batch once when due: two concurrent passes and a repeat make one payout, one event, one balanced entry", async () => {
    const batch = day1.get(a)!;
    expect(batch.payableMinor).toBeGreaterThan(0n);
    const payableBefore = await payableOf(a);
    const clearingBefore = await payoutClearing();
    const passes = await Promise.all([payDueBatches(env.pool, env.service.deps), payDueBatches(env.pool, env.service.deps)]);
    const paid = passes.flatMap((pass) => pass.paid);
    expect(passes.flatMap((pass) => pass.refused)).toEqual([]);
    // Only a's batch is due: b is held, c has no payout account, e none either, DAY2's is only closed.
    expect(paid).toHaveLength(1);
    expect(paid[0]).toMatchObject({ batchId: batch.batchId, merchantId: a, amountMinor: batch.payableMinor, currency: "CNY", accountReference: accountOfA, instructedBy: PAYOUT_SCHEDULER });
    expect(await payDueBatches(env.pool, env.service.deps)).toEqual({ paid: [], refused: [] });

    expect((await finance.getBatch({ batchId: batch.batchId })).batch?.status).toBe(BatchStatus.PAID_OUT);
    expect(await outboxTypes(batch.batchId)).toEqual(["SettlementBatchClosed", "SettlementBatchReconciled", "PayoutInstructed"]);
    // The ledger: merchant payable debited by the payable net, payout clearing credited the same.
    expect((await payableOf(a)) - payableBefore).toBe(batch.payableMinor);
    expect((await payoutClearing()) - clearingBefore).toBe(-batch.payableMinor);
    const { rows } = await env.pool.query<{ account_id: string; amount_minor: string; entry_type: string; approved_by: string }>(
      `SELECT p.account_id, p.amount_minor, e.entry_type, e.approved_by FROM ledger_posting p JOIN journal_entry e USING (entry_id)
        WHERE e.source_key = $1 ORDER BY p.line_no`,
      [`payout:${batch.batchId}`],
    );
    expect(rows).toEqual([
      { account_id: `merchant_payable:${a}:CNY`, amount_minor: batch.payableMinor.toString(), entry_type: "payout", approved_by: PAYOUT_SCHEDULER },
      { account_id: "payout_clearing:CNY", amount_minor: (-batch.payableMinor).toString(), entry_type: "payout", approved_by: PAYOUT_SCHEDULER },
    ]);
  });

  it("publishes PayoutInstructed with the amount and the merchant's account reference on settlement.v1", async () => {
    const batch = day1.get(a)!;
    const kafka = new Kafka({ clientId: "settlement-payout-test", brokers: [...testKafkaBrokers()], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `settlement-payout-watch-${newEventId()}`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: "settlement.v1", fromBeginning: true });
    const seen: { key: string; type: string; value: Buffer }[] = [];
    await consumer.run({
      eachMessage: ({ message }) => {
        seen.push({ key: message.key?.toString() ?? "", type: kafkaHeadersToRecord(message.headers)["event-type"] ?? "", value: message.value ?? Buffer.alloc(0) });
        return Promise.resolve();
      },
    });
    try {
      const record = await eventually(
        async () => seen.find((r) => r.key === batch.batchId && r.type === "tributary.settlement.v1.PayoutInstructed"),
        `PayoutInstructed for ${batch.batchId}`,
      );
      expect(fromBinary(PayoutInstructedSchema, record.value)).toMatchObject({
        batchId: batch.batchId, merchantId: a, provider: Provider.UNIONPAY, businessDate: DAY1, settlementDate: batch.settlementDate,
        amount: { currency: "CNY", amountMinor: batch.payableMinor }, accountReference: accountOfA, instructedBy: PAYOUT_SCHEDULER,
      });
      expect(seen.filter((r) => r.key === batch.batchId && r.type.endsWith("PayoutInstructed"))).toHaveLength(1);
    } finally {
      await consumer.disconnect();
    }
  });

  it("leaves a held batch, a closed one and one without a payout account unpaid", async () => {
    const unpaid = [day1.get(b)!, day2OfA, day1.get(c)!];
    expect(await payDueBatches(env.pool, env.service.deps)).toEqual({ paid: [], refused: [] });
    expect((await finance.getBatch({ batchId: day1.get(b)!.batchId })).batch?.status).toBe(BatchStatus.HELD);
    expect((await finance.getBatch({ batchId: day2OfA.batchId })).batch?.status).toBe(BatchStatus.CLOSED);
    expect((await finance.getBatch({ batchId: day1.get(c)!.batchId })).batch?.status).toBe(BatchStatus.RECONCILED);
    for (const batch of unpaid) expect(await outboxTypes(batch.batchId)).not.toContain("PayoutInstructed");
    const { rowCount } = await env.pool.query("SELECT 1 FROM settlement_payout WHERE batch_id = ANY($1)", [unpaid.map((x) => x.batchId)]);
    expect(rowCount).toBe(0);
  });

  it("is the only way to pay out: the gRPC API has no method that writes ledger entries", () => {
    expect(Object.keys(SettlementService.method).sort()).toEqual(
      ["closeBusinessDay", "exportReport", "getBalances", "getBatch", "listBatches", "streamBatchEntries", "streamPaymentsForReconciliation", "streamRecords"].sort(),
    );
  });
});

describe("StreamBatchEntries", () => {
  it("streams a batch's entries with their legs in booking order, in chunks of 200", async () => {
    const batch = day1.get(e)!;
    const chunks = await drain(finance.streamBatchEntries({ batchId: batch.batchId }));
    expect(chunks.map((chunk) => chunk.entries.length)).toEqual([200, 200, 50]);
    const entries = chunks.flatMap((chunk) => chunk.entries);
    expect(new Set(entries.map((x) => x.entryId)).size).toBe(450);
    const times = entries.map((x) => x.bookedAt!.seconds);
    expect([...times].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(times);
    expect(entries.every((x) => x.entryType === "payment_captured" && sumLegs(x) === 0n && x.postings.length >= 3)).toBe(true);
    expect(entries.reduce((sum, x) => sum + x.amount!.amountMinor, 0n)).toBe(batch.grossMinor);
    // What the entries moved on the merchant's payable is the batch's net.
    const payable = entries.flatMap((x) => x.postings).filter((p) => p.accountId === `merchant_payable:${e}:CNY`);
    expect(-payable.reduce((sum, p) => sum + p.amount!.amountMinor, 0n)).toBe(batch.netMinor);
  });

  it("includes the payout entry of a paid-out batch", async () => {
    const entries = (await drain(finance.streamBatchEntries({ batchId: day1.get(a)!.batchId }))).flatMap((chunk) => chunk.entries);
    expect(entries.map((x) => x.entryType)).toEqual(["payment_captured", "payment_captured", "payout"]);
    expect(entries[2]).toMatchObject({ approvedBy: PAYOUT_SCHEDULER, amount: { amountMinor: day1.get(a)!.payableMinor } });
    expect(entries.every((x) => sumLegs(x) === 0n)).toBe(true);
  });

  it("is merchant-bound like GetBatch", async () => {
    expect((await rpcError(drain(readerB.streamBatchEntries({ batchId: day1.get(a)!.batchId })))).code).toBe(Code.NotFound);
    const own = (await drain(readerB.streamBatchEntries({ batchId: day1.get(b)!.batchId }))).flatMap((chunk) => chunk.entries);
    expect(own).toHaveLength(1);
    expect((await rpcError(drain(finance.streamBatchEntries({ batchId: "not-a-batch" })))).code).toBe(Code.NotFound);
    // A reconciliation worker's token (settlement:records) reads records, not batches.
    const worker = createClient(SettlementService, env.service.address, { bearerToken: reconToken, defaultDeadlineMs: 30_000 });
    try {
      expect((await rpcError(drain(worker.streamBatchEntries({ batchId: day1.get(b)!.batchId })))).code).toBe(Code.PermissionDenied);
    } finally {
      closeClient(worker);
    }
  });
});

describe("approved adjustments from reconciliation.v1", () => {
  const exceptionId = newEventId();
  const keyOf = (day: string) => `unionpay/${day}`;
  const resolved = (overrides: Partial<{ exceptionId: string; merchantId: string; amountMinor: bigint; note: string; noAdjustment: boolean }> = {}) => ({
    exceptionId: overrides.exceptionId ?? exceptionId,
    reconciliationId: newEventId(),
    provider: Provider.UNIONPAY,
    billDate: DAY1,
    matchClass: "fee_mismatch",
    itemKey: "payment:txn:UP-1",
    note: overrides.note ?? "fee overcharged on 2024-06-10, ticket 42",
    resolvedBy: "finance-approver-li",
    ...(overrides.noAdjustment === true ? {} : { adjustment: { merchantId: overrides.merchantId ?? a, amount: { currency: "CNY", amountMinor: overrides.amountMinor ?? 123n } } }),
  });
  const entriesOf = async (id: string) =>
    (
      await env.pool.query<{ account_id: string; amount_minor: string; memo: string; approved_by: string; entry_type: string }>(
        `SELECT p.account_id, p.amount_minor, e.memo, e.approved_by, e.entry_type FROM ledger_posting p JOIN journal_entry e USING (entry_id)
          WHERE e.source_key = $1 ORDER BY e.entry_id, p.line_no`,
        [`adjustment:recon-exception:${id}`],
      )
    ).rows;
  const parkedReason = async (eventId: string) =>
    (await env.pool.query<{ reason: string }>("SELECT reason FROM parked_key WHERE consumer_group = $1 AND dead_letter_event_id = $2", [env.reconciliationGroupId, eventId])).rows[0]?.reason;

  it("posts through suspense with its reason and approver, once per exception id", async () => {
    const first = await env.publish("reconciliation.v1", keyOf(DAY1), ExceptionResolvedSchema, resolved());
    await env.applied(env.reconciliationGroupId, first);
    // The same resolution delivered again under another event id (a replay) posts nothing more.
    const replay = await env.publish("reconciliation.v1", keyOf(DAY1), ExceptionResolvedSchema, resolved());
    await env.applied(env.reconciliationGroupId, replay);
    const audit = { memo: "fee overcharged on 2024-06-10, ticket 42", approved_by: "finance-approver-li", entry_type: "adjustment" };
    expect(await entriesOf(exceptionId)).toEqual([
      { account_id: "suspense:CNY", amount_minor: "123", ...audit },
      { account_id: `merchant_payable:${a}:CNY`, amount_minor: "-123", ...audit },
    ]);
  });

  it("posts nothing for an exception resolved without an adjustment", async () => {
    const id = newEventId();
    await env.applied(env.reconciliationGroupId, await env.publish("reconciliation.v1", keyOf(DAY1), ExceptionResolvedSchema, resolved({ exceptionId: id, noAdjustment: true })));
    expect(await entriesOf(id)).toEqual([]);
  });

  it("dead-letters one that cannot be posted, with the reason, and posts nothing of it", async () => {
    // Each on a key of its own: a dead letter parks its key's later events.
    const conflict = await env.publish("reconciliation.v1", keyOf("2024-06-01"), ExceptionResolvedSchema, resolved({ amountMinor: 124n }));
    const zero = await env.publish("reconciliation.v1", keyOf("2024-06-02"), ExceptionResolvedSchema, resolved({ exceptionId: newEventId(), amountMinor: 0n }));
    const noReason = await env.publish("reconciliation.v1", keyOf("2024-06-03"), ExceptionResolvedSchema, resolved({ exceptionId: newEventId(), note: " " }));
    for (const eventId of [conflict, zero, noReason]) await env.applied(env.reconciliationGroupId, eventId);
    expect(await parkedReason(conflict)).toMatch(/posted before with other terms/);
    expect(await parkedReason(zero)).toMatch(/zero/);
    expect(await parkedReason(noReason)).toMatch(/reason/);
    expect((await entriesOf(exceptionId)).map((r) => r.amount_minor)).toEqual(["123", "-123"]);
  });

  it("is taken in by the merchant's next batch", async () => {
    now = new Date(`${DAY3}T23:59:59.000+08:00`);
    const debit = newEventId();
    await env.applied(
      env.reconciliationGroupId,
      await env.publish("reconciliation.v1", keyOf(DAY1), ExceptionResolvedSchema, resolved({ exceptionId: debit, merchantId: b, amountMinor: -50n, note: "chargeback fee" })),
    );
    expect((await entriesOf(debit)).map((r) => r.amount_minor)).toEqual(["-50", "50"]);
    now = new Date(`${DAY3}T16:10:00.000Z`); // 00:10 the next day in Shanghai
    const closed = await inTransaction(env.pool, (tx) => closeBusinessDay(env.service.deps, tx, { provider: "unionpay", businessDate: DAY3 }));
    if (!closed.ok) throw new Error(closed.error.message);
    const ofA = closed.value.batches.find((x) => x.merchantId === a)!;
    const ofB = closed.value.batches.find((x) => x.merchantId === b)!;
    expect(ofA).toMatchObject({ adjustmentsMinor: 123n, paymentCount: 0n, netMinor: 123n });
    expect(ofB).toMatchObject({ adjustmentsMinor: -50n, netMinor: -50n, payableMinor: 0n, carriedForwardMinor: -50n });
  });
});
