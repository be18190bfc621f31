import type { BillRow } from "./bill.js";
import type { LedgerRecord } from "./ledger-record.js";
import {
  compareGroup,
  DEFAULT_MATCH_CONFIG,
  firstKey,
  item,
  keyOf,
  matchBill,
  sameRow,
  type BillSide,
  type CarriedItem,
  type LedgerSide,
  type MatchConfig,
  type MatchItem,
} from "./match.js";

/** What {@link createStreamMatcher} needs besides the rows and records it is fed. */
export interface StreamMatchInput {
  readonly billDate: string;
  readonly carried: readonly CarriedItem[];
  readonly dayEndMs: (day: string) => number;
  readonly daysBetween: (from: string, to: string) => number;
  /** Receives every item as soon as it is decided; the matcher keeps none of them. */
  readonly onItem: (item: MatchItem) => void;
  /**
   * How far (booking time) both streams must have moved past a group's latest member before
   * the group is closed; 30 minutes unless told. Both streams are expected roughly in time order
   * (a bill in its time order, settlement's records in booking order); the horizon only bounds
   * memory, see {@link createStreamMatcher}.
   */
  readonly closeAfterMs?: number;
}

/** The streaming matcher's handle: feed both sides in any interleaving, then `finish`. */
export interface StreamMatcher {
  addBillRow(row: BillRow): void;
  addLedgerRecord(record: LedgerRecord): void;
  /** Decides everything still open (with {@link matchBill}) and returns the carry-forward. */
  finish(): { readonly carryForward: readonly CarriedItem[] };
  /** Groups and items held right now (for tests and the bench: memory is bounded by this). */
  pendingCount(): number;
}

/**
 * An open pass-0 group. Its first row and first record sit in the group itself, the rest (rare:
 * split rows, duplicates) in arrays made when they come: the common group is one object, not an
 * object with two arrays of wrapped sides — what is held for the horizon is what the collector
 * copies and promotes, and that was most of the matching window's cost.
 */
interface Group {
  /** Pass 0's id space (0 payments, 1 refunds, 2 adjustments) and the id within it. */
  readonly space: number;
  readonly id: string;
  /** {@link keyHash} of the id, made once: asked for when the group opens, remembered when it closes. */
  readonly hash: number;
  billRow: BillRow | undefined;
  billOrigin: string;
  moreBill: BillSide[] | undefined;
  ledgerRecord: LedgerRecord | undefined;
  ledgerOrigin: string;
  moreLedger: LedgerSide[] | undefined;
  latestMs: number;
  queued: boolean;
}

/** The group's rows as sides, in the order they came. */
function billSidesOf(group: Group): BillSide[] {
  if (group.billRow === undefined) return [];
  const first: BillSide = { row: group.billRow, originDate: group.billOrigin };
  return group.moreBill === undefined ? [first] : [first, ...group.moreBill];
}
/** The group's records as sides, in the order they came. */
function ledgerSidesOf(group: Group): LedgerSide[] {
  if (group.ledgerRecord === undefined) return [];
  const first: LedgerSide = { record: group.ledgerRecord, originDate: group.ledgerOrigin };
  return group.moreLedger === undefined ? [first] : [first, ...group.moreLedger];
}
const billCountOf = (group: Group): number => (group.billRow === undefined ? 0 : 1 + (group.moreBill?.length ?? 0));
const ledgerCountOf = (group: Group): number => (group.ledgerRecord === undefined ? 0 : 1 + (group.moreLedger?.length ?? 0));

/**
 * Pass 0's key of an item as (id space, id) — what `keyOf(item, 0)` spells as one string, without
 * building that string: a fresh concatenation per item is a rope, and hashing and comparing ropes
 * as Map keys cost ~2 µs an operation here, more than the rest of the match.
 */
function spaceOf(item: { kind: string }): number {
  return item.kind === "payment" ? 0 : item.kind === "refund" ? 1 : 2;
}
function pass0Id(item: { kind: string; providerTxnId: string; providerRefundId: string; merchantRefundRef: string }): string {
  return item.kind === "payment" ? item.providerTxnId : item.kind === "refund" ? item.providerRefundId : item.merchantRefundRef;
}

/**
 * A set of 30-bit hashes in one open-addressed Int32Array (linear probing, grown at half full): a
 * day of a million closed keys is 8 MiB of flat memory the collector never traces, where a
 * `Set<number>` cost 0.4–0.7 µs an operation in the bench's profile and was rehashed as it grew.
 */
class HashSet30 {
  private slots = new Int32Array(1 << 12);
  private size = 0;
  has(hash: number): boolean {
    const mask = this.slots.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = this.slots[i] as number;
      if (slot === 0) return false;
      if (slot === hash + 1) return true;
    }
  }
  add(hash: number): void {
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    if (this.insert(this.slots, hash + 1)) this.size++;
  }
  private insert(slots: Int32Array, stored: number): boolean {
    const mask = slots.length - 1;
    for (let i = (stored - 1) & mask; ; i = (i + 1) & mask) {
      const slot = slots[i] as number;
      if (slot === stored) return false;
      if (slot === 0) {
        slots[i] = stored;
        return true;
      }
    }
  }
  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    for (const stored of old) if (stored !== 0) this.insert(this.slots, stored);
  }
}

/** A 30-bit FNV-1a hash of an id: held as a small integer, so a day of closed keys costs little. */
function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h & 0x3fffffff;
}

/**
 * {@link matchBill} over streams with bounded memory; pure (no I/O, no clock). Items are handed
 * to `onItem` as they are decided instead of being collected.
 *
 * Pass 0 (the provider's transaction / refund id) is a hash join: a row or record waits in its
 * group. A group with both sides is closed — duplicates set apart, compared exactly as
 * `matchBill` compares it — once the booking-time watermark of **both** streams (the latest time
 * each has shown) is `closeAfterMs` past the group's latest member. Everything else — items
 * without a provider id, groups with one side only, carried items that found nothing — is kept and
 * decided by `matchBill` itself at `finish` (its pass 1 on our references, duplicates, timing
 * carry, T+N exceptions), so those rules are literally the batch engine's. What is held is the
 * horizon's worth of groups plus the unmatched items, not the day.
 *
 * The outcome equals `matchBill`'s on the same input (up to item order) unless a row or record
 * arrives for a group that was already closed (a split row or a duplicate more than the horizon
 * away in stream order). Such a late member is not added to the closed group (whose item is already
 * out); it goes to `finish`, where it is matched on its own and so shows up unmatched (missing /
 * carried / exception) or pairs on our reference — it is never silently merged into a match.
 * Closed keys are remembered as 30-bit hashes; a collision only sends an item to `finish` too,
 * which decides it exactly.
 */
export function createStreamMatcher(input: StreamMatchInput, config: MatchConfig = DEFAULT_MATCH_CONFIG): StreamMatcher {
  const closeAfterMs = input.closeAfterMs ?? 30 * 60_000;
  /** Open groups per id space, keyed by the id. */
  const groups: readonly Map<string, Group>[] = [new Map(), new Map(), new Map()];
  /** Hashes of the closed groups' ids, per id space. */
  const closed: readonly HashSet30[] = [new HashSet30(), new HashSet30(), new HashSet30()];
  /** Two-sided groups in the order they became two-sided; closed from the front. */
  let queue: Group[] = [];
  let queueHead = 0;
  const leftBill: BillSide[] = [];
  const leftLedger: LedgerSide[] = [];
  let billWatermarkMs = Number.NEGATIVE_INFINITY;
  let ledgerWatermarkMs = Number.NEGATIVE_INFINITY;

  const place = (space: number, id: string, atMs: number): Group | undefined => {
    if (id === "") return undefined;
    const open = groups[space] as Map<string, Group>;
    let group = open.get(id);
    if (group === undefined) {
      // An open group's id is not closed, so only a new group asks whether its id was.
      const hash = keyHash(id);
      if ((closed[space] as HashSet30).has(hash)) return undefined;
      group = { space, id, hash, billRow: undefined, billOrigin: "", moreBill: undefined, ledgerRecord: undefined, ledgerOrigin: "", moreLedger: undefined, latestMs: atMs, queued: false };
      open.set(id, group);
    } else if (atMs > group.latestMs) {
      group.latestMs = atMs;
    }
    return group;
  };
  const enqueue = (group: Group): void => {
    if (!group.queued && group.billRow !== undefined && group.ledgerRecord !== undefined) {
      group.queued = true;
      queue.push(group);
    }
  };
  const close = (group: Group): void => {
    (groups[group.space] as Map<string, Group>).delete(group.id);
    (closed[group.space] as HashSet30).add(group.hash);
    const bill = billSidesOf(group);
    // One row cannot repeat itself: the common group skips the duplicate scan and its array.
    let kept: BillSide[] = bill;
    if (bill.length > 1) {
      kept = [];
      for (const side of bill) {
        if (kept.some((k) => sameRow(k.row, side.row))) {
          input.onItem(item("duplicate_in_bill", "exception", firstKey(side.row), [side.row], [], undefined, `the same ${side.row.kind} appears again at ${side.row.location.file}:${side.row.location.line}`));
        } else {
          kept.push(side);
        }
      }
    }
    input.onItem(compareGroup(keyOf((kept[0] as BillSide).row, 0), kept, ledgerSidesOf(group), input.billDate, config));
  };
  const advance = (): void => {
    const watermarkMs = Math.min(billWatermarkMs, ledgerWatermarkMs);
    while (queueHead < queue.length) {
      const group = queue[queueHead] as Group;
      if (group.latestMs + closeAfterMs >= watermarkMs) break;
      queueHead++;
      close(group);
    }
    if (queueHead > 4096 && queueHead * 2 > queue.length) {
      queue = queue.slice(queueHead);
      queueHead = 0;
    }
  };
  const addBill = (side: BillSide): void => {
    const group = place(spaceOf(side.row), pass0Id(side.row), side.row.bookedAtMs);
    if (group === undefined) {
      leftBill.push(side);
      return;
    }
    if (group.billRow === undefined) {
      group.billRow = side.row;
      group.billOrigin = side.originDate;
    } else {
      (group.moreBill ??= []).push(side);
    }
    enqueue(group);
  };
  const addLedger = (side: LedgerSide): void => {
    const group = place(spaceOf(side.record), pass0Id(side.record), side.record.bookedAtMs);
    if (group === undefined) {
      leftLedger.push(side);
      return;
    }
    if (group.ledgerRecord === undefined) {
      group.ledgerRecord = side.record;
      group.ledgerOrigin = side.originDate;
    } else {
      (group.moreLedger ??= []).push(side);
    }
    enqueue(group);
  };
  for (const c of input.carried) {
    if (c.side === "bill") addBill({ row: c.row, originDate: c.originDate });
    else addLedger({ record: c.record, originDate: c.originDate });
  }

  return {
    addBillRow(row) {
      addBill({ row, originDate: input.billDate });
      if (row.bookedAtMs > billWatermarkMs) {
        billWatermarkMs = row.bookedAtMs;
        advance();
      }
    },
    addLedgerRecord(record) {
      addLedger({ record, originDate: input.billDate });
      if (record.bookedAtMs > ledgerWatermarkMs) {
        ledgerWatermarkMs = record.bookedAtMs;
        advance();
      }
    },
    finish() {
      // Two-sided groups still open are closed as they stand; one-sided ones go to matchBill.
      for (const open of groups) {
        for (const group of [...open.values()]) {
          if (group.billRow !== undefined && group.ledgerRecord !== undefined) {
            close(group);
          } else {
            leftBill.push(...billSidesOf(group));
            leftLedger.push(...ledgerSidesOf(group));
          }
        }
        open.clear();
      }
      queue = [];
      queueHead = 0;
      const carried: CarriedItem[] = [];
      const billRows: BillRow[] = [];
      const ledgerRecords: LedgerRecord[] = [];
      for (const b of leftBill) {
        if (b.originDate === input.billDate) billRows.push(b.row);
        else carried.push({ side: "bill", row: b.row, originDate: b.originDate });
      }
      for (const l of leftLedger) {
        if (l.originDate === input.billDate) ledgerRecords.push(l.record);
        else carried.push({ side: "ledger", record: l.record, originDate: l.originDate });
      }
      leftBill.length = 0;
      leftLedger.length = 0;
      const rest = matchBill({ billDate: input.billDate, billRows, ledgerRecords, carried, dayEndMs: input.dayEndMs, daysBetween: input.daysBetween }, config);
      for (const decided of rest.items) input.onItem(decided);
      return { carryForward: rest.carryForward };
    },
    pendingCount() {
      let count = leftBill.length + leftLedger.length;
      for (const open of groups) for (const group of open.values()) count += billCountOf(group) + ledgerCountOf(group);
      return count;
    },
  };
}
