import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BillRow } from "./bill.js";
import type { LedgerRecord } from "./ledger-record.js";
import { DEFAULT_MATCH_CONFIG, matchBill, type CarriedItem, type MatchConfig, type MatchItem } from "./match.js";
import { dayEndMs, daysBetween, shanghaiDayBounds } from "./shanghai-calendar.js";

const D = "2026-11-23";
const D1 = "2026-11-24";
const start = (day: string): number => shanghaiDayBounds(day)?.startMs ?? 0;
let line = 1;

function row(over: Partial<BillRow> = {}): BillRow {
  return {
    location: { file: "bill.csv", line: ++line },
    kind: "payment",
    providerTxnId: "TX1",
    merchantOrderRef: "O1",
    providerRefundId: "",
    merchantRefundRef: "",
    amountMinor: 10_000n,
    feeMinor: 60n,
    currency: "CNY",
    status: "succeeded",
    providerStatus: "SUCCESS",
    bookedAtMs: start(D) + 3_600_000,
    ...over,
  };
}

/** Our record of a bill row, as settlement would have posted it. */
function recordOf(r: BillRow, over: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    recordId: `rec-${r.kind}-${r.providerTxnId}-${r.merchantRefundRef}`,
    kind: r.kind,
    providerTxnId: r.providerTxnId,
    merchantOrderRef: r.merchantOrderRef,
    providerRefundId: r.providerRefundId,
    merchantRefundRef: r.merchantRefundRef,
    amountMinor: r.amountMinor,
    feeMinor: r.feeMinor,
    currency: r.currency,
    status: r.kind === "refund" ? "refund_succeeded" : r.kind === "adjustment" ? "adjusted" : "succeeded",
    bookedAtMs: r.bookedAtMs + 200,
    businessDate: D,
    ...over,
  };
}

const run = (billRows: BillRow[], ledgerRecords: LedgerRecord[], options: { carried?: CarriedItem[]; day?: string; config?: Partial<MatchConfig> } = {}) =>
  matchBill({ billDate: options.day ?? D, billRows, ledgerRecords, carried: options.carried ?? [], dayEndMs, daysBetween }, { ...DEFAULT_MATCH_CONFIG, ...options.config });
const classes = (items: readonly MatchItem[]) => items.map((i) => `${i.matchClass}/${i.disposition}`).sort();

describe("matchBill: one class per difference", () => {
  const base = row();
  const table: { name: string; bill: BillRow[]; ledger: LedgerRecord[]; config?: Partial<MatchConfig>; expected: string[] }[] = [
    { name: "identical", bill: [base], ledger: [recordOf(base)], expected: ["matched/matched"] },
    { name: "the bill has more", bill: [row({ amountMinor: 10_001n })], ledger: [recordOf(base)], expected: ["over_amount/exception"] },
    { name: "the bill has less", bill: [row({ amountMinor: 9_999n })], ledger: [recordOf(base)], expected: ["under_amount/exception"] },
    { name: "within an absolute drift", bill: [row({ amountMinor: 10_001n })], ledger: [recordOf(base)], config: { amountToleranceMinor: 1n }, expected: ["matched/matched"] },
    { name: "within a relative drift (100 ppm of 10000 = 1)", bill: [row({ amountMinor: 9_999n })], ledger: [recordOf(base)], config: { amountTolerancePpm: 100n }, expected: ["matched/matched"] },
    { name: "a fee off by one fen", bill: [row({ feeMinor: 61n })], ledger: [recordOf(base)], expected: ["fee_mismatch/exception"] },
    { name: "another currency", bill: [row({ currency: "USD" })], ledger: [recordOf(base)], expected: ["currency_mismatch/exception"] },
    { name: "revoked in the bill", bill: [row({ status: "revoked", providerStatus: "REVOKED" })], ledger: [recordOf(base)], expected: ["status_mismatch/exception"] },
    { name: "an unknown provider status", bill: [row({ status: "unknown_provider_status", providerStatus: "WHAT" })], ledger: [recordOf(base)], expected: ["status_mismatch/exception"] },
    { name: "a repeated identical row", bill: [base, { ...base, location: { file: "bill.csv", line: 99 } }], ledger: [recordOf(base)], expected: ["duplicate_in_bill/exception", "matched/matched"] },
    { name: "booked too far apart", bill: [base], ledger: [recordOf(base, { bookedAtMs: base.bookedAtMs + 2 * 86_400_000 })], expected: ["timing/exception"] },
    { name: "no record of ours, T+3 = 0", bill: [base], ledger: [], config: { exceptionAfterDays: 0 }, expected: ["missing_in_ledger/exception"] },
    { name: "no bill row, T+3 = 0", bill: [], ledger: [recordOf(base)], config: { exceptionAfterDays: 0 }, expected: ["missing_in_bill/exception"] },
    { name: "no record of ours, inside T+3", bill: [base], ledger: [], expected: ["missing_in_ledger/carried"] },
  ];
  for (const t of table) {
    it(t.name, () => {
      expect(classes(run(t.bill, t.ledger, t.config === undefined ? {} : { config: t.config }).items)).toEqual(t.expected);
    });
  }

  it("an amount difference is the class even when the fee differs too (first failing check)", () => {
    expect(classes(run([row({ amountMinor: 20_000n, feeMinor: 120n })], [recordOf(base)]).items)).toEqual(["over_amount/exception"]);
  });

  it("falls back from the provider's id to our order reference", () => {
    const outcome = run([base], [recordOf(base, { providerTxnId: "" })]);
    expect(outcome.items.map((i) => [i.matchClass, i.key])).toEqual([["matched", "payment:order:O1"]]);
  });

  it("two empty ids are not the same payment", () => {
    const anonymous = row({ providerTxnId: "", merchantOrderRef: "" });
    expect(classes(run([anonymous], [recordOf(anonymous)], { config: { exceptionAfterDays: 0 } }).items)).toEqual(["missing_in_bill/exception", "missing_in_ledger/exception"]);
  });

  it("one-to-many: one payment split over two bill rows", () => {
    const a = row({ amountMinor: 6_000n, feeMinor: 36n, bookedAtMs: base.bookedAtMs });
    const b = row({ amountMinor: 4_000n, feeMinor: 24n, bookedAtMs: base.bookedAtMs + 1 });
    const outcome = run([a, b], [recordOf(base)]);
    expect(classes(outcome.items)).toEqual(["matched/matched"]);
    expect(outcome.items[0]?.billRows).toHaveLength(2);
  });

  it("many-to-one: two partial refunds of ours recorded under one bill refund row", () => {
    const refund = row({ kind: "refund", providerRefundId: "RF1", merchantRefundRef: "R1", amountMinor: -5_000n, feeMinor: -30n, status: "refund_succeeded" });
    const halves = [recordOf(refund, { recordId: "a", amountMinor: -2_500n, feeMinor: -15n }), recordOf(refund, { recordId: "b", amountMinor: -2_500n, feeMinor: -15n })];
    expect(classes(run([refund], halves).items)).toEqual(["matched/matched"]);
  });

  it("partial refunds each with their own id match one by one, apart from the payment", () => {
    const r1 = row({ kind: "refund", providerRefundId: "RF1", merchantRefundRef: "R1", amountMinor: -3_000n, feeMinor: -18n, status: "refund_succeeded" });
    const r2 = row({ kind: "refund", providerRefundId: "RF2", merchantRefundRef: "R2", amountMinor: -2_000n, feeMinor: -12n, status: "refund_processing" });
    expect(classes(run([base, r1, r2], [recordOf(base), recordOf(r1), recordOf(r2)]).items)).toEqual(["matched/matched", "matched/matched", "matched/matched"]);
  });
});

describe("matchBill: the cut-off and aging", () => {
  const lateOnD = start(D1) - 500; // 23:59:59.500 on D
  const payment = row({ bookedAtMs: start(D1) }); // the provider books it at 00:00:00 on D+1
  const ours = recordOf(payment, { bookedAtMs: lateOnD, businessDate: D });

  it("ours on D, the provider's on D+1: carried as timing, not flagged, and matched the next day", () => {
    const dayD = run([], [ours], { config: { exceptionAfterDays: 0 } });
    expect(classes(dayD.items)).toEqual(["timing/carried"]);
    expect(dayD.carryForward).toHaveLength(1);
    const dayD1 = run([payment], [], { day: D1, carried: [...dayD.carryForward], config: { exceptionAfterDays: 0 } });
    expect(classes(dayD1.items)).toEqual(["matched/matched"]);
    expect(dayD1.items[0]?.carriedFrom).toBe(D);
    expect(dayD1.carryForward).toEqual([]);
  });

  it("the provider's on D, ours on D+1: the same the other way round", () => {
    const billRow = row({ bookedAtMs: start(D1) - 1000 });
    const record = recordOf(billRow, { bookedAtMs: start(D1) + 100, businessDate: D1 });
    const dayD = run([billRow], []);
    expect(classes(dayD.items)).toEqual(["timing/carried"]);
    expect(classes(run([], [record], { day: D1, carried: [...dayD.carryForward] }).items)).toEqual(["matched/matched"]);
  });

  it("a carried item never matched becomes an exception at T+3, not before", () => {
    let carried: readonly CarriedItem[] = run([], [ours]).carryForward;
    const seen: string[] = [];
    for (const day of ["2026-11-24", "2026-11-25", "2026-11-26"]) {
      const outcome = run([], [], { day, carried: [...carried] });
      seen.push(...classes(outcome.items));
      carried = outcome.carryForward;
    }
    expect(seen).toEqual(["missing_in_bill/carried", "missing_in_bill/carried", "missing_in_bill/exception"]);
    expect(carried).toEqual([]);
  });

  it("a row early in its day is not a cut-off crossing", () => {
    expect(classes(run([row({ bookedAtMs: start(D) + 1000 })], [], { config: { exceptionAfterDays: 0 } }).items)).toEqual(["missing_in_ledger/exception"]);
  });
});

describe("matchBill properties", () => {
  const rowArb = fc.record({
    kind: fc.constantFrom("payment" as const, "refund" as const),
    id: fc.stringMatching(/^[A-Z0-9]{1,6}$/),
    amount: fc.bigInt({ min: 1n, max: 10_000_000n }),
    fee: fc.bigInt({ min: 0n, max: 10_000n }),
    atMs: fc.integer({ min: 0, max: 86_400_000 - 10 * 60_000 }),
  });
  const rowsArb = fc.uniqueArray(rowArb, { selector: (r) => `${r.kind}:${r.id}`, maxLength: 30 }).map((specs) =>
    specs.map((s) =>
      row({
        kind: s.kind,
        providerTxnId: `T${s.id}`,
        merchantOrderRef: `O${s.id}`,
        providerRefundId: s.kind === "refund" ? `RF${s.id}` : "",
        merchantRefundRef: s.kind === "refund" ? `R${s.id}` : "",
        amountMinor: s.kind === "refund" ? -s.amount : s.amount,
        feeMinor: s.kind === "refund" ? -s.fee : s.fee,
        status: s.kind === "refund" ? "refund_succeeded" : "succeeded",
        bookedAtMs: start(D) + s.atMs,
      }),
    ),
  );

  it("a bill and our own copy of it match entirely, in any order", () => {
    fc.assert(
      fc.property(rowsArb, fc.integer(), (rows, seed) => {
        const ledger = rows.map((r) => recordOf(r));
        const shuffled = [...ledger].sort((a, b) => ((a.recordId.length * seed) % 7) - ((b.recordId.length * seed) % 7));
        const outcome = run(rows, shuffled);
        expect(outcome.items.every((i) => i.matchClass === "matched")).toBe(true);
        expect(outcome.items).toHaveLength(rows.length);
        expect(outcome.carryForward).toEqual([]);
      }),
    );
  });

  it("every row and record lands in exactly one item; one changed amount is one over/under item", () => {
    fc.assert(
      fc.property(rowsArb.filter((r) => r.length > 0), fc.nat(), fc.bigInt({ min: 1n, max: 1000n }), (rows, pick, delta) => {
        const at = pick % rows.length;
        const ledger = rows.map((r, i) => recordOf(r, i === at ? { amountMinor: r.amountMinor + (r.amountMinor > 0n ? delta : -delta) } : {}));
        const outcome = run(rows, ledger);
        const used = outcome.items.flatMap((i) => [...i.billRows, ...i.ledgerRecords]);
        expect(used).toHaveLength(rows.length * 2);
        expect(new Set(used).size).toBe(rows.length * 2);
        const flagged = outcome.items.filter((i) => i.matchClass !== "matched");
        expect(flagged.map((i) => i.matchClass)).toEqual(["under_amount"]);
        expect(flagged[0]?.billRows[0]).toBe(rows[at]);
      }),
    );
  });
});
