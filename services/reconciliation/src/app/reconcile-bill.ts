import { createHash } from "node:crypto";
import type { ProviderId } from "@tributary/contracts";
import { describeRejection, type BillRejection } from "../domain/bill.js";
import type { LedgerRecord } from "../domain/ledger-record.js";
import { MATCH_CLASSES, matchBill, type CarriedItem, type MatchClass, type MatchItem } from "../domain/match.js";
import { dayEndMs, daysBetween } from "../domain/shanghai-calendar.js";
import { carryFromJson, carryToJson, jsonWithBigints } from "../adapters/db/json-codec.js";
import { appendRunEvents, type DiscrepancyNotice } from "../adapters/kafka/recon-outbox.js";
import type { FetchedBill } from "../providers/bill-source.js";
import { parseBill } from "../providers/parse-bill.js";
import type { ReconDeps, Tx } from "./ports.js";

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

/** Count and amounts of one class in a run. */
export interface ClassTotal {
  readonly count: number;
  readonly billAmountMinor: bigint;
  readonly ledgerAmountMinor: bigint;
}

const locationOf = (item: MatchItem): string => item.billRows.map((r) => `${r.location.file}:${r.location.line}`).join(" ");
const providerTxnOf = (item: MatchItem): string => item.billRows[0]?.providerTxnId ?? item.ledgerRecords[0]?.providerTxnId ?? "";

async function collect(records: AsyncIterable<LedgerRecord>): Promise<LedgerRecord[]> {
  const out: LedgerRecord[] = [];
  for await (const record of records) out.push(record);
  return out;
}

/**
 * Reconciles one provider's bill for one day, in the caller's transaction: keeps the file with its
 * SHA-256, parses it (a malformed bill is recorded as a rejected run and nothing else happens),
 * streams our records of the day, takes what the previous day's run carried, matches, and writes
 * the run, its items, the new exceptions and the carry-forward, with `DiscrepancyFound` per new
 * exception and `ReconciliationCompleted` in the outbox. The same file again changes nothing. A
 * different file for a day already reconciled is a corrected bill: it supersedes the earlier
 * run, the exceptions it no longer shows are resolved by the system with a note, and the
 * difference is recorded on the new run. Runs of one provider and day are serialised by an
 * advisory lock.
 */
export async function reconcileBill(
  deps: ReconDeps,
  tx: Tx,
  input: { readonly provider: ProviderId; readonly billDate: string; readonly bill: FetchedBill },
): Promise<ReconcileOutcome> {
  const { provider, billDate, bill } = input;
  const startedAt = deps.clock();
  await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`reconciliation/${provider}/${billDate}`]);
  const sha256 = createHash("sha256").update(bill.bytes).digest("hex");

  const seen = await tx.query<{ run_id: string; status: string }>(
    `SELECT r.run_id, r.status FROM recon_runs r JOIN bill_files f USING (bill_file_id)
      WHERE r.provider = $1 AND r.bill_date = $2 AND f.sha256 = $3 ORDER BY r.started_at DESC LIMIT 1`,
    [provider, billDate, sha256],
  );
  const previous = seen.rows[0];
  if (previous !== undefined) return { kind: "already_reconciled", runId: previous.run_id, status: previous.status };

  const fileId = deps.newId();
  const stored = await tx.query<{ bill_file_id: string }>(
    `INSERT INTO bill_files (bill_file_id, provider, bill_date, file_name, sha256, provider_digest_algorithm, provider_digest, byte_length, content, fetched_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (provider, bill_date, sha256) DO UPDATE SET file_name = bill_files.file_name
     RETURNING bill_file_id`,
    [fileId, provider, billDate, bill.fileName, sha256, bill.providerDigest?.algorithm ?? null, bill.providerDigest?.hex ?? null, bill.bytes.length, bill.bytes, startedAt],
  );
  const billFileId = stored.rows[0]?.bill_file_id ?? fileId;
  const runId = deps.newId();

  const parsed = await parseBill(provider, { bytes: bill.bytes, fileName: bill.fileName, billDate });
  if (!parsed.ok) {
    await tx.query(
      `INSERT INTO recon_runs (run_id, provider, bill_date, bill_file_id, status, rejection, bill_row_count, ledger_record_count, matched_count,
                               discrepancy_count, currency, bill_net_minor, ledger_net_minor, class_totals, carry_forward, started_at, completed_at)
       VALUES ($1, $2, $3, $4, 'rejected', $5, 0, 0, 0, 0, 'CNY', 0, 0, '{}', '[]', $6, $7)`,
      [runId, provider, billDate, billFileId, describeRejection(parsed.error), startedAt, deps.clock()],
    );
    return { kind: "rejected", runId, rejection: parsed.error };
  }

  const ledgerRecords = await collect(deps.ledger.recordsFor(provider, billDate));
  const carriedRow = await tx.query<{ carry_forward: unknown }>(
    `SELECT carry_forward FROM recon_runs WHERE provider = $1 AND bill_date < $2 AND status = 'completed' ORDER BY bill_date DESC LIMIT 1`,
    [provider, billDate],
  );
  const carried: CarriedItem[] = carryFromJson(carriedRow.rows[0]?.carry_forward);
  const outcome = matchBill({ billDate, billRows: parsed.value.rows, ledgerRecords, carried, dayEndMs, daysBetween }, deps.matchConfig);

  const totals = Object.fromEntries(MATCH_CLASSES.map((c) => [c, { count: 0, billAmountMinor: 0n, ledgerAmountMinor: 0n }])) as Record<MatchClass, { count: number; billAmountMinor: bigint; ledgerAmountMinor: bigint }>;
  for (const item of outcome.items) {
    const t = totals[item.matchClass];
    t.count++;
    t.billAmountMinor += item.billAmountMinor ?? 0n;
    t.ledgerAmountMinor += item.ledgerAmountMinor ?? 0n;
  }
  const currency = parsed.value.rows[0]?.currency ?? ledgerRecords[0]?.currency ?? "CNY";
  const billNet = parsed.value.rows.reduce((s, r) => s + r.amountMinor, 0n);
  const ledgerNet = ledgerRecords.reduce((s, r) => s + r.amountMinor, 0n);
  const exceptions = outcome.items.filter((i) => i.disposition === "exception");

  const current = await tx.query<{ run_id: string; sha256: string; bill_row_count: string; bill_net_minor: string }>(
    `SELECT r.run_id, f.sha256, r.bill_row_count::text, r.bill_net_minor::text FROM recon_runs r JOIN bill_files f USING (bill_file_id)
      WHERE r.provider = $1 AND r.bill_date = $2 AND r.status = 'completed'`,
    [provider, billDate],
  );
  const superseded = current.rows[0];
  if (superseded !== undefined) await tx.query(`UPDATE recon_runs SET status = 'superseded' WHERE run_id = $1`, [superseded.run_id]);

  const completedAt = deps.clock();
  await tx.query(
    `INSERT INTO recon_runs (run_id, provider, bill_date, bill_file_id, status, supersedes_run_id, bill_row_count, ledger_record_count, matched_count,
                             discrepancy_count, currency, bill_net_minor, ledger_net_minor, class_totals, carry_forward, started_at, completed_at)
     VALUES ($1, $2, $3, $4, 'completed', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
    [runId, provider, billDate, billFileId, superseded?.run_id ?? null, parsed.value.rows.length, ledgerRecords.length, totals.matched.count,
      exceptions.length, currency, billNet, ledgerNet, jsonWithBigints(totals), carryToJson(outcome.carryForward), startedAt, completedAt],
  );
  await insertItems(tx, runId, outcome.items);

  const inserted = exceptions.length === 0 ? { rows: [] as { match_class: string; item_key: string }[] } : await tx.query<{ match_class: string; item_key: string }>(
    `INSERT INTO recon_exceptions (exception_id, provider, bill_date, run_id, match_class, item_key, bill_locations, bill_amount_minor, ledger_amount_minor,
                                   currency, description, status, created_at)
     SELECT id, $1, $2, $3, cls, key, loc, bill, ledger, $4, descr, 'open', $5
       FROM unnest($6::uuid[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::text[]) AS t(id, cls, key, loc, bill, ledger, descr)
     ON CONFLICT (provider, bill_date, match_class, item_key) DO UPDATE SET run_id = EXCLUDED.run_id WHERE recon_exceptions.status = 'open'
     RETURNING match_class, item_key, (xmax = 0) AS fresh`,
    [provider, billDate, runId, currency, completedAt, exceptions.map(() => deps.newId()), exceptions.map((e) => e.matchClass), exceptions.map((e) => e.key),
      exceptions.map(locationOf), exceptions.map((e) => e.billAmountMinor?.toString() ?? null), exceptions.map((e) => e.ledgerAmountMinor?.toString() ?? null), exceptions.map((e) => e.description)],
  );
  const fresh = new Set((inserted.rows as { match_class: string; item_key: string; fresh?: boolean }[]).filter((r) => r.fresh === true).map((r) => `${r.match_class}\u0000${r.item_key}`));
  const newExceptions = exceptions.filter((e) => fresh.has(`${e.matchClass}\u0000${e.key}`));

  let cleared: string[] = [];
  if (superseded !== undefined) {
    // chr(31), the unit separator: no class name or key contains it (Postgres text cannot hold NUL).
    const keep = exceptions.map((e) => `${e.matchClass}\u001f${e.key}`);
    const resolved = await tx.query<{ match_class: string; item_key: string }>(
      `UPDATE recon_exceptions SET status = 'resolved', note = $4, resolved_by = 'reconciliation', resolved_at = $5
        WHERE provider = $1 AND bill_date = $2 AND status = 'open' AND NOT (match_class || chr(31) || item_key = ANY($3::text[]))
        RETURNING match_class, item_key`,
      [provider, billDate, keep, `cleared by the corrected bill ${sha256.slice(0, 12)} (run ${runId})`, completedAt],
    );
    cleared = resolved.rows.map((r) => `${r.match_class}:${r.item_key}`);
    await tx.query(`UPDATE recon_runs SET difference = $2 WHERE run_id = $1`, [
      runId,
      jsonWithBigints({
        supersededRunId: superseded.run_id,
        previousSha256: superseded.sha256,
        sha256,
        billRowCount: { before: Number(superseded.bill_row_count), after: parsed.value.rows.length },
        billNetMinor: { before: superseded.bill_net_minor, after: billNet },
        newExceptions: newExceptions.map((e) => `${e.matchClass}:${e.key}`),
        clearedExceptions: cleared,
      }),
    ]);
  }

  const notices: DiscrepancyNotice[] = newExceptions.map((e) => ({
    runId,
    matchClass: e.matchClass as Exclude<MatchClass, "matched">,
    providerTransactionId: providerTxnOf(e),
    billAmountMinor: e.billAmountMinor,
    ledgerAmountMinor: e.ledgerAmountMinor,
    currency,
    billLocation: locationOf(e),
    description: e.description,
  }));
  await appendRunEvents(tx, provider, billDate, {
    runId,
    billRowCount: BigInt(parsed.value.rows.length),
    ledgerRecordCount: BigInt(ledgerRecords.length),
    matchedCount: BigInt(totals.matched.count),
    discrepancyCount: BigInt(exceptions.length),
    currency,
    billNetMinor: billNet,
    ledgerNetMinor: ledgerNet,
    completedAtMs: completedAt.getTime(),
  }, notices);

  const open = await tx.query<{ n: string }>(`SELECT count(*)::text AS n FROM recon_exceptions WHERE provider = $1 AND bill_date = $2 AND status = 'open'`, [provider, billDate]);
  return {
    kind: "completed",
    runId,
    supersededRunId: superseded?.run_id,
    totals,
    newExceptions: newExceptions.length,
    openExceptions: Number(open.rows[0]?.n ?? "0"),
    billRowCount: parsed.value.rows.length,
    ledgerRecordCount: ledgerRecords.length,
  };
}

async function insertItems(tx: Tx, runId: string, items: readonly MatchItem[]): Promise<void> {
  for (let i = 0; i < items.length; i += 5000) {
    const chunk = items.slice(i, i + 5000);
    await tx.query(
      `INSERT INTO recon_items (run_id, item_no, match_class, disposition, item_key, bill_locations, ledger_record_ids, bill_amount_minor, ledger_amount_minor, carried_from, description)
       SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::text[])`,
      [
        runId,
        chunk.map((_, j) => i + j + 1),
        chunk.map((c) => c.matchClass),
        chunk.map((c) => c.disposition),
        chunk.map((c) => c.key),
        chunk.map(locationOf),
        chunk.map((c) => c.ledgerRecords.map((r) => r.recordId).join(" ")),
        chunk.map((c) => c.billAmountMinor?.toString() ?? null),
        chunk.map((c) => c.ledgerAmountMinor?.toString() ?? null),
        chunk.map((c) => c.carriedFrom ?? null),
        chunk.map((c) => c.description),
      ],
    );
  }
}
