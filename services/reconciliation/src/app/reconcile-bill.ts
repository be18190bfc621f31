import { createHash } from "node:crypto";
import type { ProviderId } from "@tributary/contracts";
import { describeRejection, type BillRejection } from "../domain/bill.js";
import type { LedgerRecord } from "../domain/ledger-record.js";
import { MATCH_CLASSES, matchBill, type MatchClass, type MatchItem } from "../domain/match.js";
import { dayEndMs, daysBetween } from "../domain/shanghai-calendar.js";
import type { FetchedBill } from "../providers/bill-source.js";
import { parseBill } from "../providers/parse-bill.js";
import { exceptionKey, type ClassTotal, type ReconDeps, type Tx } from "./ports.js";

/** How a run came out. */
export type ReconcileOutcome =
  | {
      readonly kind: "completed";
      readonly runId: string;
      readonly supersededRunId: string | undefined;
      readonly totals: Readonly<Record<MatchClass, ClassTotal>>;
      readonly newExceptions: number;
      readonly openExceptions: number;
      readonly billRowCount: number;
      readonly ledgerRecordCount: number;
    }
  /** This very file (same SHA-256) was reconciled or rejected before: nothing is done again. */
  | { readonly kind: "already_reconciled"; readonly runId: string; readonly status: string }
  /** The bill is malformed; it is kept, the run recorded as rejected, and nothing from it applied. */
  | { readonly kind: "rejected"; readonly runId: string; readonly rejection: BillRejection };

const locationOf = (item: MatchItem): string => item.billRows.map((r) => `${r.location.file}:${r.location.line}`).join(" ");
const providerTxnOf = (item: MatchItem): string => item.billRows[0]?.providerTxnId ?? item.ledgerRecords[0]?.providerTxnId ?? "";

async function collect(records: AsyncIterable<LedgerRecord>): Promise<LedgerRecord[]> {
  const out: LedgerRecord[] = [];
  for await (const record of records) out.push(record);
  return out;
}

function totalsOf(items: readonly MatchItem[]): Record<MatchClass, ClassTotal> {
  const totals = Object.fromEntries(MATCH_CLASSES.map((c) => [c, { count: 0, billAmountMinor: 0n, ledgerAmountMinor: 0n }])) as Record<MatchClass, { count: number; billAmountMinor: bigint; ledgerAmountMinor: bigint }>;
  for (const item of items) {
    const t = totals[item.matchClass];
    t.count++;
    t.billAmountMinor += item.billAmountMinor ?? 0n;
    t.ledgerAmountMinor += item.ledgerAmountMinor ?? 0n;
  }
  return totals;
}

/**
 * Reconciles one provider's bill for one day, in the caller's transaction: keeps the file with its
 * SHA-256, parses it (a malformed bill is recorded as a rejected run and nothing else happens),
 * streams our records of the day, takes what the previous day's run carried, matches, and writes
 * the run, its items, the new exceptions and the carry-forward, with `DiscrepancyFound` per new
 * exception and `ReconciliationCompleted` in the outbox. The same file again changes nothing. A
 * different file for a day already reconciled is a corrected bill: it supersedes the earlier
 * run, the exceptions it no longer shows are resolved by the system with a note, and the
 * difference is recorded on the new run. Runs of one provider and day are serialised.
 */
export async function reconcileBill(
  deps: ReconDeps,
  tx: Tx,
  input: {
    readonly provider: ProviderId;
    readonly billDate: string;
    readonly bill: FetchedBill;
    /** Told the lines parsed so far, every 10,000 (the CLI's progress bar). */
    readonly onProgress?: (lines: number) => void;
  },
): Promise<ReconcileOutcome> {
  const { provider, billDate, bill } = input;
  const { store } = deps;
  const startedAt = deps.clock();
  await store.lockDay(tx, provider, billDate);
  const sha256 = createHash("sha256").update(bill.bytes).digest("hex");
  const previous = await store.runOfFile(tx, provider, billDate, sha256);
  if (previous !== undefined) return { kind: "already_reconciled", runId: previous.runId, status: previous.status };

  const billFileId = await store.keepBillFile(tx, deps.newId(), { provider, billDate, fileName: bill.fileName, sha256, providerDigest: bill.providerDigest, bytes: bill.bytes, fetchedAt: startedAt });
  const runId = deps.newId();
  const parsed = await parseBill(provider, { bytes: bill.bytes, fileName: bill.fileName, billDate, onProgress: input.onProgress });
  if (!parsed.ok) {
    await store.recordRejectedRun(tx, { runId, provider, billDate, billFileId, rejection: describeRejection(parsed.error), startedAt, completedAt: deps.clock() });
    return { kind: "rejected", runId, rejection: parsed.error };
  }

  const billRows = parsed.value.rows;
  const ledgerRecords = await collect(deps.ledger.recordsFor(provider, billDate));
  const carried = await store.carriedInto(tx, provider, billDate);
  const outcome = matchBill({ billDate, billRows, ledgerRecords, carried, dayEndMs, daysBetween }, deps.matchConfig);
  const totals = totalsOf(outcome.items);
  const currency = billRows[0]?.currency ?? ledgerRecords[0]?.currency ?? "CNY";
  const billNetMinor = billRows.reduce((s, r) => s + r.amountMinor, 0n);
  const ledgerNetMinor = ledgerRecords.reduce((s, r) => s + r.amountMinor, 0n);
  const exceptions = outcome.items.filter((i) => i.disposition === "exception");

  const superseded = await store.currentRun(tx, provider, billDate);
  if (superseded !== undefined) await store.markSuperseded(tx, superseded.runId);
  const completedAt = deps.clock();
  await store.insertRun(tx, {
    runId, provider, billDate, billFileId, supersedesRunId: superseded?.runId, billRowCount: billRows.length, ledgerRecordCount: ledgerRecords.length,
    matchedCount: totals.matched.count, discrepancyCount: exceptions.length, currency, billNetMinor, ledgerNetMinor, totals,
    carryForward: outcome.carryForward, startedAt, completedAt,
  });
  await store.insertItems(tx, runId, outcome.items);
  const candidates = exceptions.map((item) => ({ exceptionId: deps.newId(), item }));
  const fresh = await store.queueExceptions(tx, { provider, billDate, runId, currency, at: completedAt }, candidates);
  const newCandidates = candidates.filter((c) => fresh.has(exceptionKey(c.item.matchClass, c.item.key)));
  const newExceptions = newCandidates.map((c) => c.item);

  if (superseded !== undefined) {
    const cleared = await store.clearExceptionsNotIn(tx, provider, billDate, exceptions.map((e) => exceptionKey(e.matchClass, e.key)), `cleared by the corrected bill ${sha256.slice(0, 12)} (run ${runId})`, completedAt);
    await store.recordDifference(tx, runId, {
      supersededRunId: superseded.runId,
      previousSha256: superseded.sha256,
      sha256,
      billRowCount: { before: superseded.billRowCount, after: billRows.length },
      billNetMinor: { before: superseded.billNetMinor, after: billNetMinor },
      newExceptions: newExceptions.map((e) => `${e.matchClass}:${e.key}`),
      clearedExceptions: cleared,
    });
  }

  await deps.outbox.appendRunEvents(
    tx,
    provider,
    billDate,
    {
      runId,
      billRowCount: BigInt(billRows.length),
      ledgerRecordCount: BigInt(ledgerRecords.length),
      matchedCount: BigInt(totals.matched.count),
      discrepancyCount: BigInt(exceptions.length),
      currency,
      billNetMinor,
      ledgerNetMinor,
      completedAtMs: completedAt.getTime(),
      totals,
    },
    newCandidates.map(({ exceptionId, item: e }) => ({
      runId,
      exceptionId,
      matchClass: e.matchClass as Exclude<MatchClass, "matched">,
      providerTransactionId: providerTxnOf(e),
      billAmountMinor: e.billAmountMinor,
      ledgerAmountMinor: e.ledgerAmountMinor,
      currency,
      billLocation: locationOf(e),
      description: e.description,
    })),
  );

  return {
    kind: "completed",
    runId,
    supersededRunId: superseded?.runId,
    totals,
    newExceptions: newExceptions.length,
    openExceptions: await store.countOpenExceptions(tx, provider, billDate),
    billRowCount: billRows.length,
    ledgerRecordCount: ledgerRecords.length,
  };
}
