import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BillRow } from "./bill.js";
import type { LedgerRecord } from "./ledger-record.js";
import { DEFAULT_MATCH_CONFIG, matchBill, type CarriedItem, type MatchItem } from "./match.js";
import { dayEndMs, daysBetween, shanghaiDayBounds } from "./shanghai-calendar.js";
import { createStreamMatcher } from "./stream-match.js";

const D = "2026-11-23";
const D0 = "2026-11-22";
const start = (day: string): number => shanghaiDayBounds(day)?.startMs ?? 0;

/** An item as text that does not depend on object identity, item order or the order of its parts (the stream feeds in time order). */
const describeItem = (i: MatchItem): string =>
  JSON.stringify({ c: i.matchClass, d: i.disposition, k: i.key, b: i.billRows.map((r) => r.location.line).sort((x, y) => x - y), l: i.ledgerRecords.map((r) => r.recordId).sort(), ba: String(i.billAmountMinor), la: String(i.ledgerAmountMinor), f: i.carriedFrom, t: i.description });

const specArb = fc.record({
  kind: fc.constantFrom("payment" as const, "refund" as const),
  id: fc.integer({ min: 0, max: 12 }),
  noTxn: fc.boolean(),
  amount: fc.bigInt({ min: 1n, max: 1000n }),
  fee: fc.bigInt({ min: 0n, max: 3n }),
  atMs: fc.integer({ min: 0, max: 86_399_999 }),
  side: fc.constantFrom("bill" as const, "ledger" as const, "both" as const),
  drift: fc.constantFrom<bigint>(0n, 0n, 0n, 1n),
  carried: fc.constantFrom(false, false, false, true),
});

type Spec = typeof specArb extends fc.Arbitrary<infer T> ? T : never;

function build(specs: readonly Spec[]) {
  const billRows: BillRow[] = [];
  const ledgerRecords: LedgerRecord[] = [];
  const carried: CarriedItem[] = [];
  specs.forEach((s, n) => {
    const signed = s.kind === "refund" ? -s.amount : s.amount;
    const day = s.carried ? D0 : D;
    const atMs = start(day) + s.atMs;
    const row: BillRow = {
      location: { file: "bill.csv", line: n + 2 }, kind: s.kind, providerTxnId: s.kind === "payment" && !s.noTxn ? `T${s.id}` : "", merchantOrderRef: `O${s.id}`,
      providerRefundId: s.kind === "refund" && !s.noTxn ? `RF${s.id}` : "", merchantRefundRef: s.kind === "refund" ? `R${s.id}` : "", amountMinor: signed, feeMinor: s.fee,
      currency: "CNY", status: s.kind === "refund" ? "refund_succeeded" : "succeeded", providerStatus: "SUCCESS", bookedAtMs: atMs,
    };
    const record: LedgerRecord = {
      recordId: `rec${n}`, kind: s.kind, providerTxnId: s.kind === "payment" ? `T${s.id}` : "", merchantOrderRef: `O${s.id}`, providerRefundId: s.kind === "refund" ? `RF${s.id}` : "",
      merchantRefundRef: s.kind === "refund" ? `R${s.id}` : "", amountMinor: signed + s.drift, feeMinor: s.fee, currency: "CNY", status: s.kind === "refund" ? "refund_succeeded" : "succeeded",
      bookedAtMs: atMs + 500, businessDate: day,
    };
    if (s.side !== "ledger") {
      if (s.carried) carried.push({ side: "bill", row, originDate: day });
      else billRows.push(row);
    }
    if (s.side !== "bill") {
      if (s.carried) carried.push({ side: "ledger", record, originDate: day });
      else ledgerRecords.push(record);
    }
  });
  return { billRows, ledgerRecords, carried };
}

function streamed(input: ReturnType<typeof build>, closeAfterMs: number): { items: string[]; carry: number; maxPending: number } {
  const items: MatchItem[] = [];
  const matcher = createStreamMatcher({ billDate: D, carried: input.carried, dayEndMs, daysBetween, onItem: (i) => items.push(i), closeAfterMs });
  // Both sides in time order, interleaved by time, as the bench and the worker feed them.
  const bill = [...input.billRows].sort((a, b) => a.bookedAtMs - b.bookedAtMs);
  const ledger = [...input.ledgerRecords].sort((a, b) => a.bookedAtMs - b.bookedAtMs);
  let i = 0;
  let j = 0;
  let maxPending = 0;
  while (i < bill.length || j < ledger.length) {
    const takeBill = j >= ledger.length || (i < bill.length && (bill[i] as BillRow).bookedAtMs <= (ledger[j] as LedgerRecord).bookedAtMs);
    if (takeBill) matcher.addBillRow(bill[i++] as BillRow);
    else matcher.addLedgerRecord(ledger[j++] as LedgerRecord);
    maxPending = Math.max(maxPending, matcher.pendingCount());
  }
  const { carryForward } = matcher.finish();
  return { items: items.map(describeItem).sort(), carry: carryForward.length, maxPending };
}

describe("createStreamMatcher", () => {
  it("decides exactly what matchBill decides when no group is closed early (splits, duplicates, pass 1, carried items, drift)", () => {
    fc.assert(
      fc.property(fc.array(specArb, { maxLength: 40 }), (specs) => {
        const input = build(specs);
        const batch = matchBill({ billDate: D, ...input, dayEndMs, daysBetween }, DEFAULT_MATCH_CONFIG);
        const s = streamed(input, Number.POSITIVE_INFINITY);
        expect(s.items).toEqual(batch.items.map(describeItem).sort());
        expect(s.carry).toBe(batch.carryForward.length);
      }),
      { numRuns: 300 },
    );
  });

  it("with a short horizon, still decides what matchBill decides when every key's members are close in time", () => {
    fc.assert(
      fc.property(fc.uniqueArray(specArb, { selector: (s) => `${s.kind}:${s.id}`, maxLength: 13 }), (specs) => {
        const input = build(specs);
        const batch = matchBill({ billDate: D, ...input, dayEndMs, daysBetween }, DEFAULT_MATCH_CONFIG);
        expect(streamed(input, 60_000).items).toEqual(batch.items.map(describeItem).sort());
      }),
      { numRuns: 300 },
    );
  });

  it("holds only the horizon's worth of a long matching day", () => {
    const specs = Array.from({ length: 2_000 }, (_, n) => ({ kind: "payment" as const, id: n, noTxn: false, amount: 100n, fee: 1n, atMs: n * 40_000, side: "both" as const, drift: 0n, carried: false }));
    const input = build(specs);
    for (const r of input.billRows) (r as { providerTxnId: string }).providerTxnId = `T${r.location.line}`;
    for (const [n, r] of input.ledgerRecords.entries()) (r as { providerTxnId: string }).providerTxnId = `T${n + 2}`;
    const s = streamed(input, 10 * 60_000);
    expect(s.items.filter((i) => i.includes('"c":"matched"'))).toHaveLength(2_000);
    expect(s.maxPending).toBeLessThan(100);
  });

  it("a member arriving after its group was closed is not merged into the match: it is decided on its own", () => {
    const input = build([
      { kind: "payment", id: 1, noTxn: false, amount: 100n, fee: 1n, atMs: 1_000, side: "both", drift: 0n, carried: false },
      { kind: "payment", id: 2, noTxn: false, amount: 100n, fee: 1n, atMs: 20_000_000, side: "both", drift: 0n, carried: false },
    ]);
    // A second bill row of payment 1 (a split), hours later in the stream.
    const late: BillRow = { ...(input.billRows[0] as BillRow), location: { file: "bill.csv", line: 99 }, amountMinor: 50n, bookedAtMs: start(D) + 30_000_000 };
    input.billRows.push(late);
    const s = streamed(input, 60_000);
    expect(s.items.filter((i) => i.includes('"c":"matched"'))).toHaveLength(2);
    expect(s.items.filter((i) => i.includes('"b":[99]'))).toEqual([expect.stringContaining('"c":"missing_in_ledger"')]);
  });
});
