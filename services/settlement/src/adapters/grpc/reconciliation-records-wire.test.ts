import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { RecordKind, SettlementRecordSchema } from "@tributary/contracts/settlement/v1/settlement";
import { StreamPaymentsForReconciliationResponseSchema } from "@tributary/contracts/settlement/v1/settlement_service";
import { describe, expect, it } from "vitest";
import { RECORDS_CHUNK_BYTES_MAX, RECORDS_CHUNK_MAX, recordsResponsesFromCopy } from "./reconciliation-records-wire.js";

/** One tuple of the records COPY (pg-records-copy.ts's field order). */
interface CopyRecord {
  kind?: number;
  txn?: string | null;
  paymentId?: string;
  merchantId?: string;
  orderRef?: string | null;
  refundRef?: string | null;
  currency?: string;
  amount?: bigint;
  fee?: bigint;
  /** booked_at: µs since 2000-01-01 UTC. */
  bookedUs?: bigint;
}

const PG_EPOCH_MS = 946_684_800_000;
const DAY_US = BigInt(Date.parse("2026-11-22T16:00:00.123Z") - PG_EPOCH_MS) * 1000n + 456n;

/** PGCOPY binary as Postgres writes it: signature, flags, extension, tuples, trailer. */
function copyBinary(records: readonly CopyRecord[], extension = Buffer.alloc(0)): Buffer {
  const parts: Buffer[] = [Buffer.from("PGCOPY\n\xff\r\n\0", "latin1")];
  const int32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return b;
  };
  parts.push(int32(0), int32(extension.length), extension);
  const text = (value: string | null | undefined) => (value === null || value === undefined ? int32(-1) : Buffer.concat([int32(Buffer.byteLength(value)), Buffer.from(value, "utf8")]));
  const int8 = (value: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(value);
    return Buffer.concat([int32(8), b]);
  };
  for (const r of records) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(10);
    const kind = Buffer.alloc(2);
    kind.writeInt16BE(r.kind ?? 1);
    parts.push(count, int32(2), kind, text(r.txn === undefined ? "4200000000000000000000000001" : r.txn), text(r.paymentId ?? "pay-1"), text(r.merchantId ?? "m-1"));
    parts.push(text(r.orderRef === undefined ? "ORD000000000001" : r.orderRef), text(r.refundRef ?? null), text(r.currency ?? "CNY"));
    parts.push(int8(r.amount ?? 4498n), int8(r.fee ?? 27n), int8(r.bookedUs ?? DAY_US));
  }
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1);
  parts.push(trailer);
  return Buffer.concat(parts);
}

/** The bytes in chunks of `size` (1 splits every field). */
async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** What protobuf-es writes for the same records: the reference the hand-written bytes must equal. */
function expected(records: readonly CopyRecord[], refunded: ReadonlyMap<string, string>, provider = Provider.WECHAT_PAY): Buffer {
  return Buffer.from(
    toBinary(
      StreamPaymentsForReconciliationResponseSchema,
      create(StreamPaymentsForReconciliationResponseSchema, {
        records: records.map((r) => {
          const us = r.bookedUs ?? DAY_US;
          const ms = Number(us / 1000n - (us < 0n && us % 1000n !== 0n ? 1n : 0n)) + PG_EPOCH_MS;
          return create(SettlementRecordSchema, {
            provider,
            providerTransactionId: r.txn === undefined ? "4200000000000000000000000001" : (r.txn ?? ""),
            paymentId: r.paymentId ?? "pay-1",
            merchantId: r.merchantId ?? "m-1",
            merchantOrderRef: r.orderRef === undefined ? "ORD000000000001" : (r.orderRef ?? ""),
            kind: (r.kind ?? 1) === 1 ? RecordKind.PAYMENT : RecordKind.REFUND,
            amount: { currency: r.currency ?? "CNY", amountMinor: r.amount ?? 4498n },
            fee: { currency: r.currency ?? "CNY", amountMinor: r.fee ?? 27n },
            bookedAt: timestampFromMs(ms),
            refundRef: r.refundRef ?? "",
            originalProviderTransactionId: (r.kind ?? 1) === 2 ? (refunded.get(r.paymentId ?? "pay-1") ?? "") : "",
          });
        }),
      }),
    ),
  );
}

const hex = (bytes: Buffer): string => bytes.toString("hex");

async function messages(chunks: AsyncIterable<Buffer>, refunded: ReadonlyMap<string, string> = new Map(), provider = Provider.WECHAT_PAY): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const message of recordsResponsesFromCopy(chunks, provider, refunded)) out.push(Buffer.from(message.bytes));
  return out;
}

describe("StreamPaymentsForReconciliationResponse written from the records' binary COPY", () => {
  const refunded = new Map([["pay-r", "4200000000000000000000000777"]]);
  const cases: [string, CopyRecord][] = [
    ["a WeChat payment", {}],
    ["a refund: its reference and the refunded payment's transaction id", { kind: 2, paymentId: "pay-r", refundRef: "rf-9", txn: "5030000000000000000000000009" }],
    ["a refund whose payment the map lacks: no original", { kind: 2, paymentId: "pay-unknown", refundRef: "rf-1" }],
    ["a zero fee: the fee Money keeps its currency", { fee: 0n }],
    ["a zero amount", { amount: 0n }],
    ["no merchant order reference (NULL)", { orderRef: null }],
    ["no provider transaction id (NULL)", { txn: null }],
    ["a whole second: no nanos", { bookedUs: BigInt(Date.parse("2026-11-23T00:00:00Z") - PG_EPOCH_MS) * 1000n }],
    ["microseconds are truncated to the millisecond", { bookedUs: DAY_US + 999n }],
    ["the Unix epoch: an empty Timestamp", { bookedUs: BigInt(-PG_EPOCH_MS) * 1000n }],
    ["before 1970 (negative seconds)", { bookedUs: BigInt(-PG_EPOCH_MS - 1_500) * 1000n - 1n }],
    ["multi-byte UTF-8 in ids", { merchantId: "商户-甲", paymentId: "pay-é" }],
    ["an amount past 2^53", { amount: 9_223_372_036_854_775_807n, fee: 9_007_199_254_740_993n }],
    ["a negative amount (10-byte varint)", { amount: -5n, fee: -1n }],
    ["long strings (multi-byte lengths)", { txn: "x".repeat(300), orderRef: "o".repeat(20_000) }],
  ];
  for (const [name, record] of cases) {
    it(`equals protobuf-es byte for byte: ${name}`, async () => {
      const out = await messages(chunked(copyBinary([record]), 1 << 16), refunded);
      expect(out.map((m) => m.toString("hex"))).toEqual([expected([record], refunded).toString("hex")]);
    });
  }

  it("equals protobuf-es for mixed records, however the COPY is split into chunks (down to single bytes)", async () => {
    const records = cases.map(([, record]) => record);
    for (const size of [1, 7, 64, 1 << 20]) {
      expect((await messages(chunked(copyBinary(records), size), refunded)).map(hex)).toEqual([hex(expected(records, refunded))]);
    }
  });

  it("skips a header extension and writes another provider's number", async () => {
    const out = await messages(chunked(copyBinary([{}], Buffer.from("ext!")), 5), new Map(), Provider.UNIONPAY);
    expect(out.map(hex)).toEqual([hex(expected([{}], new Map(), Provider.UNIONPAY))]);
  });

  it("cuts messages of at most RECORDS_CHUNK_MAX records, in order", async () => {
    const records = Array.from({ length: 2 * RECORDS_CHUNK_MAX + 500 }, (_, i) => ({ paymentId: `pay-${i}` }));
    const out = await messages(chunked(copyBinary(records), 4096));
    const decoded = out.map((m) => fromBinary(StreamPaymentsForReconciliationResponseSchema, m));
    expect(decoded.map((d) => d.records.length)).toEqual([RECORDS_CHUNK_MAX, RECORDS_CHUNK_MAX, 500]);
    expect(decoded.flatMap((d) => d.records.map((r) => r.paymentId))).toEqual(records.map((r) => r.paymentId));
  });

  it("keeps each message within RECORDS_CHUNK_BYTES_MAX, and sends a record larger than that alone", async () => {
    const big = "r".repeat(RECORDS_CHUNK_BYTES_MAX / 4);
    const records = [...Array.from({ length: 6 }, () => ({ orderRef: big })), { orderRef: "r".repeat(RECORDS_CHUNK_BYTES_MAX + 10) }, {}];
    const out = await messages(chunked(copyBinary(records), 1 << 16));
    expect(out.map((m) => fromBinary(StreamPaymentsForReconciliationResponseSchema, m).records.length)).toEqual([3, 3, 1, 1]);
    expect(out.filter((_, i) => i !== 2).every((m) => m.length <= RECORDS_CHUNK_BYTES_MAX)).toBe(true);
    // Compared as hex: element-wise equality of megabyte Buffers takes vitest tens of seconds.
    expect(hex(Buffer.concat(out))).toBe(hex(expected(records, new Map())));
  });

  it("yields nothing for a day without records", async () => {
    expect(await messages(chunked(copyBinary([]), 3))).toEqual([]);
  });

  it("refuses a stream that is cut short, is not PGCOPY, or has tuples of another shape", async () => {
    const whole = copyBinary([{}, {}]);
    await expect(messages(chunked(whole.subarray(0, whole.length - 2), 64))).rejects.toThrow(/before its trailer/);
    await expect(messages(chunked(whole.subarray(0, whole.length - 30), 64))).rejects.toThrow(/before its trailer/);
    await expect(messages(chunked(Buffer.from("kind,txn\n1,42\n and some more bytes to fill a header"), 64))).rejects.toThrow(/not a PGCOPY/);
    const wrongShape = Buffer.from(whole);
    wrongShape.writeInt16BE(9, 19); // the first tuple's field count
    await expect(messages(chunked(wrongShape, 64))).rejects.toThrow(/9 fields/);
    const nullAmount = copyBinary([{}]);
    const amountLengthAt = nullAmount.length - 2 - 3 * 12; // amount's length word: 3 int8 fields of 4 + 8 before the trailer
    nullAmount.writeInt32BE(-1, amountLengthAt);
    await expect(messages(chunked(nullAmount.subarray(0, amountLengthAt + 4), 64))).rejects.toThrow();
  });
});
