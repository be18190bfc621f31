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

interface BillSide {
  readonly row: BillRow;
  readonly originDate: string;
}
interface LedgerSide {
  readonly record: LedgerRecord;
  readonly originDate: string;
}

/** Identifiers tried in order: the provider's own id first, then ours. An empty id is no key. */
function keysOf(item: { kind: string; providerTxnId: string; merchantOrderRef: string; providerRefundId: string; merchantRefundRef: string }): readonly string[] {
  const keys =
    item.kind === "payment"
      ? [["txn", item.providerTxnId], ["order", item.merchantOrderRef]]
      : item.kind === "refund"
        ? [["refund", item.providerRefundId], ["refund_ref", item.merchantRefundRef]]
        : [["adjustment", item.merchantRefundRef]];
  return keys.map(([name, value]) => (value === "" ? "" : `${item.kind}:${name}:${value}`));
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

function identity(row: BillRow): string {
  return [row.kind, row.providerTxnId, row.merchantOrderRef, row.providerRefundId, row.merchantRefundRef, row.amountMinor, row.feeMinor, row.currency, row.status, row.bookedAtMs].join("\u0000");
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
  const seen = new Set<string>();
  let bill: BillSide[] = [];
  for (const c of input.carried) if (c.side === "bill") bill.push({ row: c.row, originDate: c.originDate });
  for (const row of input.billRows) {
    const id = identity(row);
    if (seen.has(id)) {
      items.push(item("duplicate_in_bill", "exception", keysOf(row).find((k) => k !== "") ?? "", [row], [], undefined, `the same ${row.kind} appears again at ${row.location.file}:${row.location.line}`));
      continue;
    }
    seen.add(id);
    bill.push({ row, originDate: input.billDate });
  }
  let ledger: LedgerSide[] = [
    ...input.carried.flatMap((c) => (c.side === "ledger" ? [{ record: c.record, originDate: c.originDate }] : [])),
    ...input.ledgerRecords.map((record) => ({ record, originDate: input.billDate })),
  ];

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
      const key = keysOf(b.row)[pass] ?? "";
      if (key === "") billLeft.push(b);
      else groupOf(key).bill.push(b);
    }
    for (const l of ledger) {
      const key = keysOf(l.record)[pass] ?? "";
      if (key === "") ledgerLeft.push(l);
      else groupOf(key).ledger.push(l);
    }
    for (const [key, g] of groups) {
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
    unmatched("bill", b.originDate, b.row.bookedAtMs, keysOf(b.row).find((k) => k !== "") ?? "", [b.row], [], b.row.amountMinor, `bill ${b.row.kind} at ${b.row.location.file}:${b.row.location.line}`);
  }
  for (const l of ledger) {
    unmatched("ledger", l.originDate, l.record.bookedAtMs, keysOf(l.record).find((k) => k !== "") ?? "", [], [l.record], l.record.amountMinor, `our ${l.record.kind} ${l.record.recordId}`);
  }
  return { items, carryForward };
}

function item(
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

function compareGroup(key: string, bill: readonly BillSide[], ledger: readonly LedgerSide[], billDate: string, config: MatchConfig): MatchItem {
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
