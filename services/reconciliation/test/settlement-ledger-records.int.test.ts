/**
 * The settlement adapter over real gRPC (a loopback server on the service kit, serving
 * StreamPaymentsForReconciliation from fixed chunks; the other methods are not called): chunks come
 * out as they were sent and flatten to the records in order, a refund is signed negative in the
 * bill's convention, the request names the provider and day, and an empty message fails the
 * stream instead of passing for "no records".
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { RecordKind } from "@tributary/contracts/settlement/v1/settlement";
import { SettlementService } from "@tributary/contracts/settlement/v1/settlement_service";
import { Code, createServer, type RpcServer, type ServiceImplementation } from "@tributary/grpc";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SettlementRecordSchema } from "@tributary/contracts/settlement/v1/settlement";
import { afterEach, describe, expect, it } from "vitest";
import { createSettlementLedgerRecords } from "../src/adapters/grpc/settlement-ledger-records.js";

const TOKEN = "recon-test-token";
const DAY = "2026-11-23";
const AT_MS = Date.parse("2026-11-23T02:00:00Z");

type RecordInit = MessageInitShape<typeof SettlementRecordSchema>;

function payment(i: number): RecordInit {
  return {
    provider: Provider.WECHAT_PAY, providerTransactionId: `4200${i}`, paymentId: `pay-${i}`, merchantId: "m-1", merchantOrderRef: `ORD${i}`,
    kind: RecordKind.PAYMENT, amount: { currency: "CNY", amountMinor: 1000n + BigInt(i) }, fee: { currency: "CNY", amountMinor: 6n }, bookedAt: timestampFromMs(AT_MS + i),
  };
}

let server: RpcServer | undefined;
afterEach(async () => {
  await server?.shutdown();
  server = undefined;
});

/** A server whose records stream sends `chunks` as they are, and records what it was asked. */
async function serve(chunks: readonly (readonly RecordInit[])[], asked: { provider?: Provider; businessDate?: string }[]): Promise<string> {
  const unserved = (): never => {
    throw new Error("not called by this test");
  };
  const implementation: ServiceImplementation<typeof SettlementService, { code: "unused" }> = {
    getBatch: async () => unserved(),
    listBatches: async () => unserved(),
    getBalances: async () => unserved(),
    closeBusinessDay: async () => unserved(),
    async *streamRecords() {
      unserved();
    },
    async *exportReport() {
      unserved();
    },
    async *streamBatchEntries() {
      unserved();
    },
    async *streamPaymentsForReconciliation(request) {
      asked.push({ provider: request.provider, businessDate: request.businessDate });
      for (const records of chunks) yield { records: [...records] };
    },
  };
  const scopes = ["settlement:records"] as const;
  server = createServer({ tokens: { [TOKEN]: { id: "recon", scopes, grants: { providers: ["wechat_pay"] } } } });
  server.addService(SettlementService, implementation, {
    access: {
      getBatch: scopes, listBatches: scopes, getBalances: scopes, closeBusinessDay: scopes,
      streamRecords: scopes, exportReport: scopes, streamBatchEntries: scopes, streamPaymentsForReconciliation: scopes,
    },
    errors: { unused: Code.Internal },
  });
  const port = await server.listen("127.0.0.1:0");
  return `127.0.0.1:${port}`;
}

describe("createSettlementLedgerRecords", () => {
  it("hands out settlement's chunks as sent, flattening to the records in order, a refund signed negative", async () => {
    const refund: RecordInit = {
      provider: Provider.WECHAT_PAY, providerTransactionId: "R-9", paymentId: "pay-9", merchantId: "m-1", merchantOrderRef: "ORD9",
      kind: RecordKind.REFUND, amount: { currency: "CNY", amountMinor: 500n }, fee: { currency: "CNY", amountMinor: 3n }, bookedAt: timestampFromMs(AT_MS + 9),
    };
    const asked: { provider?: Provider; businessDate?: string }[] = [];
    const address = await serve([[payment(0), payment(1), payment(2)], [payment(3), refund]], asked);
    const source = createSettlementLedgerRecords({ address, bearerToken: TOKEN });

    const chunks: (readonly { recordId: string; kind: string; amountMinor: bigint; feeMinor: bigint; bookedAtMs: number; providerRefundId: string }[])[] = [];
    for await (const chunk of source.chunksFor("wechat_pay", DAY)) chunks.push(chunk);
    expect(chunks.map((c) => c.length)).toEqual([3, 2]);
    expect(asked).toEqual([{ provider: Provider.WECHAT_PAY, businessDate: DAY }]);
    const flat = chunks.flat();
    expect(flat.map((r) => r.recordId)).toEqual(["payment:pay-0:42000", "payment:pay-1:42001", "payment:pay-2:42002", "payment:pay-3:42003", "refund:pay-9:R-9"]);
    expect(flat[1]).toMatchObject({ kind: "payment", amountMinor: 1001n, feeMinor: 6n, bookedAtMs: AT_MS + 1 });
    expect(flat[4]).toMatchObject({ kind: "refund", amountMinor: -500n, feeMinor: -3n, providerRefundId: "R-9" });

    const oneByOne: string[] = [];
    for await (const record of source.recordsFor("wechat_pay", DAY)) oneByOne.push(record.recordId);
    expect(oneByOne).toEqual(flat.map((r) => r.recordId));
  });

  it("fails the stream on an empty message rather than reading it as no records", async () => {
    const address = await serve([[payment(0)], []], []);
    const source = createSettlementLedgerRecords({ address, bearerToken: TOKEN });
    const seen: number[] = [];
    await expect(async () => {
      for await (const chunk of source.chunksFor("wechat_pay", DAY)) seen.push(chunk.length);
    }).rejects.toThrow(/message 2 has no record/);
    expect(seen).toEqual([1]);
  });

  it("fails on a record of unspecified kind", async () => {
    const address = await serve([[{ providerTransactionId: "4200", paymentId: "pay-0", amount: { currency: "CNY", amountMinor: 1n }, bookedAt: timestampFromMs(AT_MS) }]], []);
    const source = createSettlementLedgerRecords({ address, bearerToken: TOKEN });
    await expect(async () => {
      for await (const chunk of source.chunksFor("wechat_pay", DAY)) expect(chunk).toBeUndefined();
    }).rejects.toThrow(/kind unspecified/);
  });

  it("keeps each record's own currency in a message that mixes them, and still fails a bad one after good ones", async () => {
    const inCurrency = (i: number, currency: string): RecordInit => ({
      provider: Provider.WECHAT_PAY, providerTransactionId: `4200${i}`, paymentId: `pay-${i}`, kind: RecordKind.PAYMENT,
      amount: { currency, amountMinor: 7n }, fee: { currency, amountMinor: 0n }, bookedAt: timestampFromMs(AT_MS + i),
    });
    const address = await serve([[payment(0), inCurrency(1, "USD"), payment(2)]], []);
    const source = createSettlementLedgerRecords({ address, bearerToken: TOKEN });
    const currencies: string[] = [];
    for await (const chunk of source.chunksFor("wechat_pay", DAY)) currencies.push(...chunk.map((r) => r.currency));
    expect(currencies).toEqual(["CNY", "USD", "CNY"]);
    await server?.shutdown();
    const bad = await serve([[payment(0), payment(1), inCurrency(2, "cny")]], []);
    await expect(async () => {
      for await (const chunk of createSettlementLedgerRecords({ address: bad, bearerToken: TOKEN }).chunksFor("wechat_pay", DAY)) expect(chunk).toBeUndefined();
    }).rejects.toThrow(/currency "cny" is not ISO 4217/);
  });
});
