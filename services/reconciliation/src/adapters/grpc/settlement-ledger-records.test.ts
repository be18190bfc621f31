import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { RecordKind, SettlementRecordSchema, type SettlementRecord } from "@tributary/contracts/settlement/v1/settlement";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LedgerRecord } from "../../domain/ledger-record.js";
import { ledgerRecordFromWire, ledgerRecordOf, ledgerRecordsFromWire } from "./settlement-ledger-records.js";

const DAY = "2026-11-23";

/** What a reader gives for a record: the ledger record, or the message it threw. */
function outcome(read: () => LedgerRecord): LedgerRecord | { threw: string } {
  try {
    return read();
  } catch (error) {
    return { threw: error instanceof Error ? error.message : String(error) };
  }
}

const money = fc.option(
  fc.record({ currency: fc.constantFrom("CNY", "USD", "JPY", "", "cny", "人民币"), amountMinor: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) }, { requiredKeys: [] }),
  { nil: undefined },
);
const record: fc.Arbitrary<SettlementRecord> = fc
  .record(
    {
      provider: fc.constantFrom(Provider.WECHAT_PAY, Provider.ALIPAY, Provider.UNSPECIFIED),
      providerTransactionId: fc.string(),
      paymentId: fc.string({ unit: "grapheme" }),
      merchantId: fc.string(),
      merchantOrderRef: fc.string(),
      kind: fc.constantFrom(RecordKind.PAYMENT, RecordKind.REFUND, RecordKind.UNSPECIFIED, 7 as RecordKind),
      amount: money,
      fee: money,
      bookedAt: fc.option(fc.record({ seconds: fc.bigInt({ min: -62135596800n, max: 253402300799n }), nanos: fc.integer({ min: 0, max: 999_999_999 }) }), { nil: undefined }),
      refundRef: fc.string(),
      originalProviderTransactionId: fc.string(),
    },
    { requiredKeys: [] },
  )
  .map((init) => create(SettlementRecordSchema, init as MessageInitShape<typeof SettlementRecordSchema>));

describe("ledgerRecordFromWire", () => {
  it("reads an encoded record as ledgerRecordOf reads the decoded one: the same record or the same error", () => {
    fc.assert(
      fc.property(record, (r) => {
        const bytes = toBinary(SettlementRecordSchema, r);
        expect(outcome(() => ledgerRecordFromWire(bytes, DAY))).toEqual(outcome(() => ledgerRecordOf(r, DAY)));
      }),
      { numRuns: 2000 },
    );
  });

  it("reads a chunk's records in order, each with its own currency", () => {
    const at = (i: number, currency: string): Uint8Array =>
      toBinary(SettlementRecordSchema, create(SettlementRecordSchema, {
        providerTransactionId: `4200${i}`, paymentId: `pay-${i}`, kind: RecordKind.PAYMENT, amount: { currency, amountMinor: BigInt(i) }, bookedAt: { seconds: 1_800_000_000n, nanos: 0 },
      }));
    const records = ledgerRecordsFromWire([at(0, "CNY"), at(1, "USD"), at(2, "CNY")], DAY);
    expect(records.map((r) => [r.recordId, r.currency, r.amountMinor])).toEqual([["payment:pay-0:42000", "CNY", 0n], ["payment:pay-1:42001", "USD", 1n], ["payment:pay-2:42002", "CNY", 2n]]);
  });

  it("skips fields it does not know, and merges a message field sent twice as protobuf-es does", () => {
    const base = create(SettlementRecordSchema, {
      providerTransactionId: "4200", paymentId: "pay-0", kind: RecordKind.REFUND, amount: { currency: "CNY", amountMinor: 500n }, fee: { currency: "CNY", amountMinor: 3n }, bookedAt: { seconds: 1_800_000_000n, nanos: 250_000_000 },
    });
    const writer = new BinaryWriter();
    writer.raw(toBinary(SettlementRecordSchema, base));
    writer.tag(99, WireType.LengthDelimited).string("a field of a later settlement");
    writer.tag(98, WireType.Varint).int64(123n);
    // booked_at again with seconds only: the nanos of the first copy stay.
    writer.tag(9, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(1_800_000_001n).join();
    const read = ledgerRecordFromWire(writer.finish(), DAY);
    expect(read).toMatchObject({ recordId: "refund:pay-0:4200", kind: "refund", amountMinor: -500n, feeMinor: -3n, bookedAtMs: 1_800_000_001_250 });
  });

  it("keeps a refund's refund_ref as its merchantRefundRef, the key of a bill without the provider's refund id", () => {
    const refund = create(SettlementRecordSchema, {
      provider: Provider.ALIPAY,
      providerTransactionId: "2026112322001400000000000001",
      paymentId: "p-1",
      kind: RecordKind.REFUND,
      amount: { currency: "CNY", amountMinor: 500n },
      fee: { currency: "CNY", amountMinor: 3n },
      bookedAt: { seconds: 1_795_000_000n, nanos: 0 },
      refundRef: "refund-42",
    });
    const read = ledgerRecordFromWire(toBinary(SettlementRecordSchema, refund), DAY);
    expect(read).toMatchObject({ kind: "refund", merchantRefundRef: "refund-42", amountMinor: -500n, feeMinor: -3n });
    expect(ledgerRecordOf(refund, DAY)).toEqual(read);
    const payment = ledgerRecordFromWire(toBinary(SettlementRecordSchema, { ...refund, kind: RecordKind.PAYMENT, refundRef: "" }), DAY);
    expect(payment.merchantRefundRef).toBe("");
  });

  it("throws on a truncated record instead of reading what is there", () => {
    const bytes = toBinary(SettlementRecordSchema, create(SettlementRecordSchema, { providerTransactionId: "4200", paymentId: "pay-0", kind: RecordKind.PAYMENT, amount: { currency: "CNY", amountMinor: 1n }, bookedAt: { seconds: 1n } }));
    for (const cut of [1, 5, bytes.length - 1]) expect(() => ledgerRecordFromWire(bytes.subarray(0, cut), DAY)).toThrow();
  });
});
