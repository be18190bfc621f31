import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BillRow } from "../domain/bill.js";
import { packBillRows, PackTable, unpackBillRows } from "./bill-row-chunk.js";

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const row = (amount: fc.Arbitrary<bigint>): fc.Arbitrary<BillRow> =>
  fc.record({
    location: fc.record({ file: fc.constantFrom("a.csv", "b.csv", "账单.csv"), line: fc.nat() }),
    kind: fc.constantFrom("payment", "refund", "adjustment"),
    providerTxnId: fc.string(),
    merchantOrderRef: fc.string(),
    providerRefundId: fc.string({ unit: "grapheme" }),
    merchantRefundRef: fc.string(),
    amountMinor: amount,
    feeMinor: amount,
    currency: fc.constantFrom("CNY", "USD"),
    status: fc.constantFrom("succeeded", "refund_processing", "unknown_provider_status"),
    providerStatus: fc.string({ maxLength: 12 }),
    bookedAtMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  });

describe("packBillRows / unpackBillRows", () => {
  it("give back rows equal to those packed, chunk after chunk on one table (texts cross once)", () => {
    fc.assert(
      fc.property(fc.array(fc.array(row(int64), { maxLength: 20 }), { maxLength: 5 }), (chunks) => {
        const sender = new PackTable();
        const receiver: string[] = [];
        for (const chunk of chunks) {
          const packed = packBillRows(chunk, sender);
          if (packed === undefined) throw new Error("every amount fits");
          for (const text of packed.added) expect(receiver).not.toContain(text);
          expect(unpackBillRows(packed, receiver)).toEqual(chunk);
        }
      }),
    );
  });

  it("the kind, status and currency of unpacked rows are the table's one copy", () => {
    const rows = [0, 1].map((i): BillRow => ({
      location: { file: "a.csv", line: i }, kind: "payment", providerTxnId: `t${i}`, merchantOrderRef: "", providerRefundId: "", merchantRefundRef: "",
      amountMinor: 1n, feeMinor: 0n, currency: "CNY", status: "succeeded", providerStatus: "SUCCESS", bookedAtMs: i,
    }));
    const table: string[] = [];
    const out = unpackBillRows(packBillRows(rows, new PackTable()) as NonNullable<ReturnType<typeof packBillRows>>, table);
    expect(table).toEqual(["payment", "succeeded", "CNY", "SUCCESS", "a.csv"]);
    expect(out.map((r) => r.providerTxnId)).toEqual(["t0", "t1"]);
  });

  it("refuses to pack an amount beyond 64 bits, and leaves the table as it was", () => {
    const table = new PackTable();
    fc.assert(
      fc.property(fc.array(row(int64), { minLength: 1, maxLength: 5 }), fc.bigInt({ min: 2n ** 63n, max: 2n ** 80n }), fc.boolean(), (rows, big, negative) => {
        const bad = { ...(rows[0] as BillRow), amountMinor: negative ? -big - 1n : big };
        expect(packBillRows([...rows, bad], table)).toBeUndefined();
        expect(table.takeAdded()).toEqual([]);
      }),
    );
  });
});
