/**
 * The read API over real gRPC: a reconciliation worker streams one provider's records of one
 * business day in booking order across keyset pages (2,500 records), with the ledger's fees, one
 * per message (StreamRecords) and in chunks (StreamPaymentsForReconciliation); it is refused
 * another provider; finance lists and gets batches, a merchant-bound token sees only its
 * merchant's (another's is NOT_FOUND); bad dates are INVALID_ARGUMENT naming the field; the closed
 * batch reaches `settlement.v1` through the outbox.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { RecordKind } from "@tributary/contracts/settlement/v1/settlement";
import { SettlementBatchClosedSchema } from "@tributary/contracts/settlement/v1/settlement_events";
import { ReportFormat, ReportKind, SettlementService } from "@tributary/contracts/settlement/v1/settlement_service";
import { kafkaHeadersToRecord, newEventId } from "@tributary/events";
import { closeClient, Code, createClient, RpcError, type RpcClient } from "@tributary/grpc";
import { testKafkaBrokers } from "@tributary/testkit/vitest";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordRefund } from "../src/app/record-refund.js";
import { RECORDS_CHUNK_MAX } from "../src/adapters/grpc/reconciliation-records-wire.js";
import { writeEntries } from "../src/adapters/db/pg-ledger.js";
import { recordOrderContext } from "../src/adapters/db/pg-order-context.js";
import { captureEntry } from "../src/domain/capture-entry.js";
import { DEFAULT_FEE_TERMS } from "../src/domain/fee-terms.js";
import { parse } from "csv-parse/sync";
import { captureOf, inTransaction, testDeps, uniqueMerchant } from "./ledger-test-env.js";
import { eventually, financeToken, reconToken, startSettlementTestEnv, type SettlementTestEnv } from "./settlement-test-env.js";

const boundToken = "merchant-bound-token-89ab";
const closeToken = "closer-token-cdef";
const DAY = "2025-07-15";
let env: SettlementTestEnv;
let finance: RpcClient<typeof SettlementService>;
let recon: RpcClient<typeof SettlementService>;
let bound: RpcClient<typeof SettlementService>;
let closer: RpcClient<typeof SettlementService>;
const merchant = uniqueMerchant("grpc");
const other = uniqueMerchant("grpc-other");
const deps = testDeps();
let captures0Reference = "";

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

beforeAll(async () => {
  env = await startSettlementTestEnv({
    tokens: {
      [boundToken]: { id: "merchant-portal", scopes: ["settlement:read"], grants: { merchants: [other] } },
      [closeToken]: { id: "operator", scopes: ["settlement:close"], grants: { merchants: "all" } },
    },
  });
  const client = (token: string) => createClient(SettlementService, env.service.address, { bearerToken: token, defaultDeadlineMs: 30_000 });
  finance = client(financeToken);
  recon = client(reconToken);
  bound = client(boundToken);
  closer = client(closeToken);
  // 2,500 JD Pay captures through one day (Shanghai 00:00:01 … 23:xx), written in one transaction.
  const start = Date.parse(`${DAY}T00:00:01.000+08:00`);
  const captures = Array.from({ length: 2500 }, (_, i) => captureOf(i % 2 === 0 ? merchant : other, 1000n + BigInt(i), { provider: "jd_pay", at: new Date(start + (2499 - i) * 30_000) }));
  // Every third order's OrderAccepted seen: those records carry its merchant order reference.
  await inTransaction(env.pool, async (tx) => {
    for (const [i, c] of captures.entries()) if (i % 3 === 0) await recordOrderContext(tx, { orderId: c.orderId, merchantOrderRef: `REF-${i}`, channel: undefined, category: undefined });
  });
  await inTransaction(env.pool, (tx) => writeEntries(tx, captures.map((c) => captureEntry(c, DEFAULT_FEE_TERMS, deps.newId()))));
  const first = captures[0]!;
  captures0Reference = first.providerTransactionId!;
  await inTransaction(env.pool, (tx) =>
    recordRefund(deps, tx, { orderId: first.orderId, paymentId: first.paymentId, refundRef: "r", amountMinor: 500n, currency: "CNY", eventId: undefined, providerRefundId: "JDR-1", at: new Date(start + 86_000_000) }),
  );
  const closed = await closer.closeBusinessDay({ provider: Provider.JD_PAY, businessDate: DAY });
  expect(closed.alreadyClosed).toBe(false);
}, 120_000);

afterAll(async () => {
  for (const c of [finance, recon, bound, closer]) closeClient(c);
  await env.stop();
});

describe("StreamRecords", () => {
  it("streams every record of the provider's day in booking order, across pages, with the ledger's fees", async () => {
    const records = (await drain(recon.streamRecords({ provider: Provider.JD_PAY, settlementDate: DAY }))).map((r) => r.record!);
    const ours = records.filter((r) => r.merchantId === merchant || r.merchantId === other);
    expect(ours.length).toBe(2501);
    const times = records.map((r) => Number(r.bookedAt!.seconds) * 1000 + Math.floor(r.bookedAt!.nanos / 1e6));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const refund = ours.find((r) => r.kind === RecordKind.REFUND)!;
    expect(refund).toMatchObject({ providerTransactionId: "JDR-1", refundRef: "r", originalProviderTransactionId: captures0Reference, amount: { currency: "CNY", amountMinor: 500n }, fee: { amountMinor: 3n } });
    const payment = ours.find((r) => r.kind === RecordKind.PAYMENT && r.amount!.amountMinor === 1000n)!;
    expect(payment.fee!.amountMinor).toBe(6n);
  });

  it("refuses a provider the worker is not bound to, and a bad date", async () => {
    expect((await rpcError(drain(recon.streamRecords({ provider: Provider.WECHAT_PAY, settlementDate: DAY })))).code).toBe(Code.PermissionDenied);
    const bad = await rpcError(drain(recon.streamRecords({ provider: Provider.JD_PAY, settlementDate: "2025-7-15" })));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.fieldViolations[0]?.field).toBe("settlement_date");
    expect((await rpcError(drain(finance.streamRecords({ provider: Provider.JD_PAY, settlementDate: DAY })))).code).toBe(Code.PermissionDenied);
  });
});

describe("StreamPaymentsForReconciliation", () => {
  it("streams the same records as StreamRecords, in the same order, in chunks of at most RECORDS_CHUNK_MAX", async () => {
    const chunks = (await drain(recon.streamPaymentsForReconciliation({ provider: Provider.JD_PAY, businessDate: DAY }))).map((c) => c.records);
    const oneByOne = (await drain(recon.streamRecords({ provider: Provider.JD_PAY, settlementDate: DAY }))).map((r) => r.record!);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const chunk of chunks) {
      expect(chunk.length).toBeGreaterThan(0);
      expect(chunk.length).toBeLessThanOrEqual(RECORDS_CHUNK_MAX);
    }
    const records = chunks.flat();
    expect(records.length).toBe(oneByOne.length);
    // Every field alike: the chunks are written from Postgres's binary COPY, StreamRecords's records by protobuf-es.
    expect(records).toEqual(oneByOne);
    // 834 captures, and the refund of capture 0 (its order is one of them).
    expect(records.filter((r) => r.merchantOrderRef.startsWith("REF-")).length).toBe(835);
    const refund = records.find((r) => r.kind === RecordKind.REFUND)!;
    expect(refund).toMatchObject({ providerTransactionId: "JDR-1", refundRef: "r", originalProviderTransactionId: captures0Reference, amount: { currency: "CNY", amountMinor: 500n }, fee: { amountMinor: 3n } });
  });

  it("with omit_merchant_order_ref, the same records with that one field empty (no order-context lookup)", async () => {
    const full = (await drain(recon.streamPaymentsForReconciliation({ provider: Provider.JD_PAY, businessDate: DAY }))).flatMap((c) => c.records);
    const lean = (await drain(recon.streamPaymentsForReconciliation({ provider: Provider.JD_PAY, businessDate: DAY, omitMerchantOrderRef: true }))).flatMap((c) => c.records);
    expect(full.some((r) => r.merchantOrderRef !== "")).toBe(true);
    expect(lean.every((r) => r.merchantOrderRef === "")).toBe(true);
    expect(lean).toEqual(full.map((r) => ({ ...r, merchantOrderRef: "" })));
  });

  it("a stream the worker stops after its first message leaves nothing behind: the next one is whole", async () => {
    const whole = (await drain(recon.streamPaymentsForReconciliation({ provider: Provider.JD_PAY, businessDate: DAY }))).flatMap((c) => c.records);
    for (let i = 0; i < 3; i += 1) {
      for await (const first of recon.streamPaymentsForReconciliation({ provider: Provider.JD_PAY, businessDate: DAY })) {
        expect(first.records.length).toBeGreaterThan(0);
        break;
      }
    }
    const again = (await drain(recon.streamPaymentsForReconciliation({ provider: Provider.JD_PAY, businessDate: DAY }))).flatMap((c) => c.records);
    expect(again).toEqual(whole);
    const { rows } = await env.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY (%' AND state <> 'idle'");
    expect(rows[0]?.n).toBe(0);
  });

  it("refuses a provider the worker is not bound to, a bad business date, and a finance token", async () => {
    expect((await rpcError(drain(recon.streamPaymentsForReconciliation({ provider: Provider.WECHAT_PAY, businessDate: DAY })))).code).toBe(Code.PermissionDenied);
    const bad = await rpcError(drain(recon.streamPaymentsForReconciliation({ provider: Provider.JD_PAY, businessDate: "2025-7-15" })));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.fieldViolations[0]?.field).toBe("business_date");
    expect((await rpcError(drain(recon.streamPaymentsForReconciliation({ provider: Provider.UNSPECIFIED, businessDate: DAY })))).code).toBe(Code.InvalidArgument);
    expect((await rpcError(drain(finance.streamPaymentsForReconciliation({ provider: Provider.JD_PAY, businessDate: DAY })))).code).toBe(Code.PermissionDenied);
  });
});

describe("ListBatches and GetBatch", () => {
  it("list and get the day's batches for finance; a merchant-bound token sees only its merchant", async () => {
    const listed = await finance.listBatches({ settlementDate: DAY, provider: Provider.JD_PAY });
    const mine = listed.batches.find((b) => b.merchantId === merchant)!;
    expect(mine).toMatchObject({ paymentCount: 1250n, refundCount: 1n, settlementDate: DAY, provider: Provider.JD_PAY });
    expect((await finance.getBatch({ batchId: mine.batchId })).batch).toEqual(mine);
    const seenByBound = await bound.listBatches({ settlementDate: DAY });
    expect(seenByBound.batches.map((b) => b.merchantId)).toEqual([other]);
    expect((await rpcError(bound.getBatch({ batchId: mine.batchId }))).code).toBe(Code.NotFound);
    expect((await rpcError(finance.getBatch({ batchId: newEventId() }))).code).toBe(Code.NotFound);
    expect((await rpcError(recon.listBatches({ settlementDate: DAY }))).code).toBe(Code.PermissionDenied);
    expect((await rpcError(finance.listBatches({ settlementDate: "" }))).code).toBe(Code.InvalidArgument);
  });

  it("publishes SettlementBatchClosed for the batch on settlement.v1 through the outbox", async () => {
    const listed = await finance.listBatches({ settlementDate: DAY, merchantId: merchant });
    const batchId = listed.batches[0]!.batchId;
    const kafka = new Kafka({ clientId: "settlement-grpc-test", brokers: [...testKafkaBrokers()], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `settlement-watch-${newEventId()}`, maxWaitTimeInMs: 200 });
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
      const record = await eventually(async () => seen.find((r) => r.key === batchId), `SettlementBatchClosed for ${batchId}`);
      expect(record.type).toBe("tributary.settlement.v1.SettlementBatchClosed");
      expect(fromBinary(SettlementBatchClosedSchema, record.value).batch?.paymentCount).toBe(1250n);
    } finally {
      await consumer.disconnect();
    }
  });
});

describe("CloseBusinessDay, GetBalances and ExportReport", () => {
  it("close again without change, refuse a day not over, and need the close scope", async () => {
    const again = await closer.closeBusinessDay({ provider: Provider.JD_PAY, businessDate: DAY });
    expect(again.alreadyClosed).toBe(true);
    expect(again.batches.map((b) => b.merchantId)).toEqual(expect.arrayContaining([merchant, other]));
    const tomorrow = new Date(Date.now() + 32 * 60 * 60 * 1000).toISOString().slice(0, 10);
    expect((await rpcError(closer.closeBusinessDay({ provider: Provider.JD_PAY, businessDate: tomorrow }))).code).toBe(Code.FailedPrecondition);
    expect((await rpcError(closer.closeBusinessDay({ provider: Provider.UNSPECIFIED, businessDate: DAY }))).code).toBe(Code.InvalidArgument);
    expect((await rpcError(finance.closeBusinessDay({ provider: Provider.JD_PAY, businessDate: DAY }))).code).toBe(Code.PermissionDenied);
  });

  it("give a merchant's balances now and as of a time, and platform balances only to an every-merchant credential", async () => {
    const now = await bound.getBalances({ merchantId: other });
    const payable = now.balances.find((b) => b.kind === "merchant_payable")!;
    expect(payable.accountId).toBe(`merchant_payable:${other}:CNY`);
    expect(payable.posted!.amountMinor).toBeLessThan(0n);
    const before = await bound.getBalances({ merchantId: other, at: { seconds: BigInt(Date.parse(`${DAY}T00:00:00.000+08:00`) / 1000), nanos: 0 } });
    expect(before.balances.find((b) => b.kind === "merchant_payable")!.posted!.amountMinor).toBe(0n);
    expect((await rpcError(bound.getBalances({ merchantId: merchant }))).code).toBe(Code.PermissionDenied);
    expect((await rpcError(bound.getBalances({}))).code).toBe(Code.PermissionDenied);
    const platform = await finance.getBalances({});
    expect(platform.balances.map((b) => b.accountId)).toEqual(expect.arrayContaining(["provider_clearing:jd_pay:CNY", "platform_fee_revenue:CNY"]));
  });

  it("streams the detail CSV (with its BOM) and refuses an unknown format or another merchant", async () => {
    const chunks: Buffer[] = [];
    for await (const piece of bound.exportReport({ kind: ReportKind.DETAIL, format: ReportFormat.CSV, businessDate: DAY, merchantId: other })) chunks.push(Buffer.from(piece.chunk));
    const bytes = Buffer.concat(chunks);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse<Record<string, string>>(bytes, { bom: true, columns: true });
    expect(rows).toHaveLength(1250);
    expect(new Set(rows.map((r) => r["merchant_id"]))).toEqual(new Set([other]));
    expect((await rpcError(drain(bound.exportReport({ kind: ReportKind.DETAIL, format: ReportFormat.CSV, businessDate: DAY, merchantId: merchant })))).code).toBe(Code.PermissionDenied);
    expect((await rpcError(drain(finance.exportReport({ kind: ReportKind.SUMMARY, format: ReportFormat.JSON, businessDate: DAY })))).code).toBe(Code.InvalidArgument);
    const xlsx: Buffer[] = [];
    for await (const piece of bound.exportReport({ kind: ReportKind.DETAIL, format: ReportFormat.XLSX, businessDate: DAY, merchantId: other })) xlsx.push(Buffer.from(piece.chunk));
    // A zip file (PK\x03\x04), as every .xlsx is.
    expect([...Buffer.concat(xlsx).subarray(0, 4)]).toEqual([0x50, 0x4b, 0x03, 0x04]);
  });
});
