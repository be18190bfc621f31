import { assertNever } from "@tributary/result";
import type { BillRow, BillRowStatus } from "./bill.js";
import type { LedgerRecord, LedgerStatus } from "./ledger-record.js";

/** How one item of a run came out. */
export type MatchClass =
  | "matched"
  | "missing_in_ledger"
  | "missing_in_bill"
  | "over_amount"
  | "under_amount"
  | "fee_mismatch"
  | "currency_mismatch"
  | "status_mismatch"
  | "duplicate_in_bill"
  | "timing";

/** Every class, in report order. */
export const MATCH_CLASSES: readonly MatchClass[] = [
  "matched", "missing_in_ledger", "missing_in_bill", "over_amount", "under_amount", "fee_mismatch",
  "currency_mismatch", "status_mismatch", "duplicate_in_bill", "timing",
];

/**
 * What happens to an item: `matched`; `carried` to the next day's run (a cut-off crossing, or an
 * unmatched item still inside its grace period); or `exception`, a discrepancy for a person.
 */
export type Disposition = "matched" | "carried" | "exception";

/** Tolerances and periods; {@link DEFAULT_MATCH_CONFIG} holds the defaults. */
export interface MatchConfig {
  /** An amount difference up to this many minor units still matches (Blnk's "drift"). */
  readonly amountToleranceMinor: bigint;
  /** … or up to this many parts per million of our amount, whichever is larger. */
  readonly amountTolerancePpm: bigint;
  readonly feeToleranceMinor: bigint;
  /** Paired records booked further apart than this are a `timing` exception. */
  readonly timeToleranceMs: number;
  /**
   * An unmatched item booked this close to the end of its day is a cut-off crossing: carried to
   * the next day's run as `timing`, not flagged.
   */
  readonly cutoffWindowMs: number;
  /** An item still unmatched this many days after its own day becomes an exception (T+3). */
  readonly exceptionAfterDays: number;
}

/** No drift on amounts or fees, a day of time drift, a 5-minute cut-off window, T+3. */
export const DEFAULT_MATCH_CONFIG: MatchConfig = {
  amountToleranceMinor: 0n,
  amountTolerancePpm: 0n,
  feeToleranceMinor: 0n,
  timeToleranceMs: 24 * 60 * 60 * 1000,
  cutoffWindowMs: 5 * 60 * 1000,
  exceptionAfterDays: 3,
};

/** An item left unmatched by an earlier run, offered to the next one. */
export type CarriedItem =
  | { readonly side: "bill"; readonly row: BillRow; readonly originDate: string }
  | { readonly side: "ledger"; readonly record: LedgerRecord; readonly originDate: string };

/** One result line: the rows and records it concerns, its class and what happens to it. */
export interface MatchItem {
  readonly matchClass: MatchClass;
  readonly disposition: Disposition;
  /** The identifier the two sides met on (or the item's own, when unmatched): "payment:txn:…". */
  readonly key: string;
  readonly billRows: readonly BillRow[];
  readonly ledgerRecords: readonly LedgerRecord[];
  readonly billAmountMinor: bigint | undefined;
  readonly ledgerAmountMinor: bigint | undefined;
  /** The earliest day among the item's carried parts, when any part came from an earlier run. */
  readonly carriedFrom: string | undefined;
  readonly description: string;
}

/** What one run decided. `carryForward` goes into the next day's run. */
export interface MatchOutcome {
  readonly items: readonly MatchItem[];
  readonly carryForward: readonly CarriedItem[];
}

/** One run's input: the bill of `billDate`, our records of that day, and what earlier runs carried. */
export interface MatchInput {
  readonly billDate: string;
  readonly billRows: readonly BillRow[];
  readonly ledgerRecords: readonly LedgerRecord[];
  readonly carried: readonly CarriedItem[];
  /** End of `billDate` (epoch ms) and of each carried item's day, from the caller's calendar. */
  readonly dayEndMs: (day: string) => number;
  /** Whole days from `from` to `to`. */
  readonly daysBetween: (from: string, to: string) => number;
}

/** Internal (shared with stream-match.ts): a bill row with the day it belongs to. */
export interface BillSide {
  readonly row: BillRow;
  readonly originDate: string;
}
/** Internal (shared with stream-match.ts): one of our records with the day it belongs to. */
export interface LedgerSide {
  readonly record: LedgerRecord;
  readonly originDate: string;
}

/**
 * The identifier of pass `pass`: the provider's own id first, then ours. An empty id is no key:
 * two empty ids are not the same payment.
 */
export function keyOf(item: { kind: string; providerTxnId: string; merchantOrderRef: string; providerRefundId: string; merchantRefundRef: string }, pass: number): string {
  if (item.kind === "payment") {
    const value = pass === 0 ? item.providerTxnId : item.merchantOrderRef;
    return value === "" ? "" : `payment:${pass === 0 ? "txn" : "order"}:${value}`;
  }
  if (item.kind === "refund") {
    const value = pass === 0 ? item.providerRefundId : item.merchantRefundRef;
    return value === "" ? "" : `refund:${pass === 0 ? "refund" : "refund_ref"}:${value}`;
  }
  return pass === 0 && item.merchantRefundRef !== "" ? `adjustment:adjustment:${item.merchantRefundRef}` : "";
}

/** The first identifier an item has, for reporting it unmatched. */
export function firstKey(item: Parameters<typeof keyOf>[0]): string {
  const primary = keyOf(item, 0);
  return primary !== "" ? primary : keyOf(item, 1);
}

const PASSES = 2;

function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}

/** Whether a bill status agrees with ours. A refund PROCESSING in the bill is its snapshot at the cut-off. */
function statusAgrees(bill: BillRowStatus, ledger: LedgerStatus): boolean {
  switch (bill) {
    case "succeeded":
      return ledger === "succeeded";
    case "refund_succeeded":
    case "refund_processing":
      return ledger === "refund_succeeded";
    case "adjusted":
      return ledger === "adjusted";
    case "revoked":
    case "unknown_provider_status":
      return false;
    default:
      return assertNever(bill, "bill row status");
  }
}

/** Two rows saying the same thing (anywhere in the bill): a duplicate, not a split. */
export function sameRow(a: BillRow, b: BillRow): boolean {
  return a.kind === b.kind && a.providerTxnId === b.providerTxnId && a.merchantOrderRef === b.merchantOrderRef && a.providerRefundId === b.providerRefundId &&
    a.merchantRefundRef === b.merchantRefundRef && a.amountMinor === b.amountMinor && a.feeMinor === b.feeMinor && a.currency === b.currency &&
    a.status === b.status && a.bookedAtMs === b.bookedAtMs;
}

function earliest(days: readonly string[]): string | undefined {
  return days.length === 0 ? undefined : [...days].sort()[0];
}

/**
 * Matches one day's bill against our records and what earlier runs carried; pure. Identifiers are
 * tried in order (the provider's transaction or refund id, then our order or refund reference);
 * the rows and records that meet on one form a group, compared as sums, so one payment split over
 * several rows (one-to-many) or several records of one bill row (many-to-one) match. A repeated
 * identical bill row is `duplicate_in_bill`. In a group, the first failing check names the class:
 * currency, status, amount (over / under, beyond the tolerance), fee, time. Whatever stays
 * unmatched is carried: as `timing` when it was booked within the cut-off window of its day's end
 * (the other side books it tomorrow), else as missing while younger than `exceptionAfterDays`; an
 * older one is an exception. Matching a carried item settles it, with `carriedFrom` set.
 */
export function matchBill(input: MatchInput, config: MatchConfig = DEFAULT_MATCH_CONFIG): MatchOutcome {
  const items: MatchItem[] = [];
  let bill: BillSide[] = [];
  for (const c of input.carried) if (c.side === "bill") bill.push({ row: c.row, originDate: c.originDate });
  for (const row of input.billRows) bill.push({ row, originDate: input.billDate });
  let ledger: LedgerSide[] = [
    ...input.carried.flatMap((c) => (c.side === "ledger" ? [{ record: c.record, originDate: c.originDate }] : [])),
    ...input.ledgerRecords.map((record) => ({ record, originDate: input.billDate })),
  ];
  // Repeated identical rows share their identifiers, so they meet in a group of the first pass
  // (or the second, for rows without the provider's id); the repeats are set apart there.
  const dropDuplicates = (sides: BillSide[]): BillSide[] => {
    if (sides.length < 2) return sides;
    const kept: BillSide[] = [];
    for (const side of sides) {
      if (kept.some((k) => sameRow(k.row, side.row))) {
        items.push(item("duplicate_in_bill", "exception", firstKey(side.row), [side.row], [], undefined, `the same ${side.row.kind} appears again at ${side.row.location.file}:${side.row.location.line}`));
      } else {
        kept.push(side);
      }
    }
    return kept;
  };

  for (let pass = 0; pass < PASSES; pass++) {
    const groups = new Map<string, { bill: BillSide[]; ledger: LedgerSide[] }>();
    const groupOf = (key: string) => {
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { bill: [], ledger: [] }));
      return g;
    };
    const billLeft: BillSide[] = [];
    const ledgerLeft: LedgerSide[] = [];
    for (const b of bill) {
      const key = keyOf(b.row, pass);
      if (key === "") billLeft.push(b);
      else groupOf(key).bill.push(b);
    }
    for (const l of ledger) {
      const key = keyOf(l.record, pass);
      if (key === "") ledgerLeft.push(l);
      else groupOf(key).ledger.push(l);
    }
    for (const [key, group] of groups) {
      const g = { bill: dropDuplicates(group.bill), ledger: group.ledger };
      if (g.bill.length === 0 || g.ledger.length === 0) {
        billLeft.push(...g.bill);
        ledgerLeft.push(...g.ledger);
        continue;
      }
      items.push(compareGroup(key, g.bill, g.ledger, input.billDate, config));
    }
    bill = billLeft;
    ledger = ledgerLeft;
  }

  const carryForward: CarriedItem[] = [];
  const unmatched = (side: "bill" | "ledger", originDate: string, bookedAtMs: number, key: string, rows: BillRow[], records: LedgerRecord[], amount: bigint, what: string): void => {
    const missing: MatchClass = side === "bill" ? "missing_in_ledger" : "missing_in_bill";
    const age = input.daysBetween(originDate, input.billDate);
    const nearCutoff = input.dayEndMs(originDate) - bookedAtMs <= config.cutoffWindowMs;
    const carriedFrom = originDate === input.billDate ? undefined : originDate;
    if (age === 0 && nearCutoff) {
      items.push(item("timing", "carried", key, rows, records, carriedFrom, `${what} booked ${Math.round((input.dayEndMs(originDate) - bookedAtMs) / 1000)} s before the cut-off; carried to the next day's run`, side === "bill" ? amount : undefined, side === "ledger" ? amount : undefined));
    } else if (age >= config.exceptionAfterDays) {
      items.push(item(missing, "exception", key, rows, records, carriedFrom, `${what} still unmatched ${age} day(s) after ${originDate}`, side === "bill" ? amount : undefined, side === "ledger" ? amount : undefined));
      return;
    } else {
      items.push(item(missing, "carried", key, rows, records, carriedFrom, `${what} unmatched; waiting until T+${config.exceptionAfterDays}`, side === "bill" ? amount : undefined, side === "ledger" ? amount : undefined));
    }
    carryForward.push(side === "bill" ? { side, row: rows[0] as BillRow, originDate } : { side, record: records[0] as LedgerRecord, originDate });
  };
  for (const b of bill) {
    unmatched("bill", b.originDate, b.row.bookedAtMs, firstKey(b.row), [b.row], [], b.row.amountMinor, `bill ${b.row.kind} at ${b.row.location.file}:${b.row.location.line}`);
  }
  for (const l of ledger) {
    unmatched("ledger", l.originDate, l.record.bookedAtMs, firstKey(l.record), [], [l.record], l.record.amountMinor, `our ${l.record.kind} ${l.record.recordId}`);
  }
  return { items, carryForward };
}

/** Internal: builds one result line; the amounts default to the sums of each side. */
export function item(
  matchClass: MatchClass,
  disposition: Disposition,
  key: string,
  billRows: readonly BillRow[],
  ledgerRecords: readonly LedgerRecord[],
  carriedFrom: string | undefined,
  description: string,
  billAmountMinor: bigint | undefined = billRows.length === 0 ? undefined : billRows.reduce((s, r) => s + r.amountMinor, 0n),
  ledgerAmountMinor: bigint | undefined = ledgerRecords.length === 0 ? undefined : ledgerRecords.reduce((s, r) => s + r.amountMinor, 0n),
): MatchItem {
  return { matchClass, disposition, key, billRows, ledgerRecords, billAmountMinor, ledgerAmountMinor, carriedFrom, description };
}

/** Internal: the item of one group whose both sides are present (first failing check wins). */
export function compareGroup(key: string, bill: readonly BillSide[], ledger: readonly LedgerSide[], billDate: string, config: MatchConfig): MatchItem {
  const fast = bill.length === 1 && ledger.length === 1 ? exactPair(key, bill[0] as BillSide, ledger[0] as LedgerSide, billDate, config) : undefined;
  if (fast !== undefined) return fast;
  const rows = bill.map((b) => b.row);
  const records = ledger.map((l) => l.record);
  const carriedFrom = earliest([...bill, ...ledger].map((s) => s.originDate).filter((d) => d !== billDate));
  const shape = rows.length === 1 && records.length === 1 ? "" : ` (${rows.length} bill row(s) to ${records.length} record(s))`;
  const exception = (matchClass: MatchClass, description: string): MatchItem => item(matchClass, "exception", key, rows, records, carriedFrom, description + shape);

  const currencies = new Set([...rows.map((r) => r.currency), ...records.map((r) => r.currency)]);
  if (currencies.size > 1) return exception("currency_mismatch", `currencies differ: bill ${[...new Set(rows.map((r) => r.currency))].join("/")}, ours ${[...new Set(records.map((r) => r.currency))].join("/")}`);
  const ledgerStatuses = new Set(records.map((r) => r.status));
  const disagreeing = rows.find((r) => [...ledgerStatuses].some((s) => !statusAgrees(r.status, s)));
  if (disagreeing !== undefined) return exception("status_mismatch", `the bill says ${disagreeing.providerStatus} (${disagreeing.status}), we say ${[...ledgerStatuses].join("/")}`);

  const billAmount = rows.reduce((s, r) => s + r.amountMinor, 0n);
  const ledgerAmount = records.reduce((s, r) => s + r.amountMinor, 0n);
  const tolerance = [config.amountToleranceMinor, (abs(ledgerAmount) * config.amountTolerancePpm) / 1_000_000n].reduce((a, b) => (a > b ? a : b));
  const delta = abs(billAmount) - abs(ledgerAmount);
  if (abs(delta) > tolerance) {
    return exception(delta > 0n ? "over_amount" : "under_amount", `the bill says ${billAmount}, we say ${ledgerAmount} (${delta > 0n ? "+" : ""}${delta} minor units)`);
  }
  const billFee = rows.reduce((s, r) => s + r.feeMinor, 0n);
  const ledgerFee = records.reduce((s, r) => s + r.feeMinor, 0n);
  if (abs(billFee - ledgerFee) > config.feeToleranceMinor) return exception("fee_mismatch", `the bill's fee is ${billFee}, ours ${ledgerFee}`);

  const times = [...rows.map((r) => r.bookedAtMs), ...records.map((r) => r.bookedAtMs)];
  const spreadMs = Math.max(...times) - Math.min(...times);
  if (spreadMs > config.timeToleranceMs) return exception("timing", `booked ${Math.round(spreadMs / 1000)} s apart, beyond the ${Math.round(config.timeToleranceMs / 1000)} s tolerance`);

  const drift = delta === 0n ? "" : `, within the tolerance (${delta} minor units)`;
  return item("matched", "matched", key, rows, records, carriedFrom, `matched${shape}${drift}`);
}

/**
 * The common case without allocations beyond the item: one row and one record that agree exactly
 * on currency, status, amount and fee, within the time tolerance. Anything else goes the general way.
 */
function exactPair(key: string, b: BillSide, l: LedgerSide, billDate: string, config: MatchConfig): MatchItem | undefined {
  const row = b.row;
  const record = l.record;
  if (row.currency !== record.currency || row.amountMinor !== record.amountMinor || row.feeMinor !== record.feeMinor || !statusAgrees(row.status, record.status)) return undefined;
  if (Math.abs(row.bookedAtMs - record.bookedAtMs) > config.timeToleranceMs) return undefined;
  const fromBill = b.originDate === billDate ? undefined : b.originDate;
  const fromLedger = l.originDate === billDate ? undefined : l.originDate;
  const carriedFrom = fromBill === undefined ? fromLedger : fromLedger === undefined || fromBill < fromLedger ? fromBill : fromLedger;
  return { matchClass: "matched", disposition: "matched", key, billRows: [row], ledgerRecords: [record], billAmountMinor: row.amountMinor, ledgerAmountMinor: record.amountMinor, carriedFrom, description: "matched" };
}
