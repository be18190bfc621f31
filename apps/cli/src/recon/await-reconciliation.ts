import { setTimeout as sleep } from "node:timers/promises";
import type { ProviderId } from "@tributary/contracts";
import { listParkedKeys } from "@tributary/events";
import type pg from "pg";
import { CliError } from "../cli-context.js";

/** A reconciliation run as the worker recorded it. */
export interface ReconRun {
  readonly runId: string;
  readonly status: string;
  readonly rejection: string | null;
  readonly billRowCount: number;
  readonly ledgerRecordCount: number;
  readonly matchedCount: number;
  readonly discrepancyCount: number;
  readonly currency: string;
  readonly billNetMinor: bigint;
  readonly ledgerNetMinor: bigint;
  /** Items per match class (classes with none left out). */
  readonly classes: Readonly<Record<string, number>>;
  readonly supersedesRunId: string | null;
  readonly startedAt: Date;
}

/** What the worker did with one statement. */
export type StatementOutcome =
  | { readonly kind: "completed"; readonly run: ReconRun }
  | { readonly kind: "rejected"; readonly run: ReconRun }
  /** The worker had reconciled (or rejected) this very bill before: nothing changed; `run` is the day's newest. */
  | { readonly kind: "already_reconciled"; readonly run: ReconRun | undefined };

/** The consumer group of one provider's worker on `statements.v1` (the reconciliation service's `statementsGroupId`). */
export function statementsGroupOf(provider: ProviderId): string {
  return `reconciliation-${provider}`;
}

/**
 * Waits until the provider's worker has handled the statement event `eventId` — its inbox row
 * commits in the same transaction as the run — and says how it came out, from the run it
 * recorded. A dead-lettered statement (the bill could not be fetched, or a bad event) parks its
 * key: that, or an earlier dead letter holding the key back, fails with the reason and what to
 * do. Polls the database every 300 ms; gives up after `timeoutMs`.
 */
export async function awaitReconciliation(
  pool: pg.Pool,
  statement: { readonly provider: ProviderId; readonly billDate: string; readonly eventId: string; readonly publishedAt: Date },
  timeoutMs: number,
): Promise<StatementOutcome> {
  const group = statementsGroupOf(statement.provider);
  const key = `${statement.provider}/${statement.billDate}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const parked = (await listParkedKeys(pool, { consumerGroup: group })).find((entry) => entry.key === key && entry.releasedAt === undefined);
    if (parked !== undefined) {
      const ours = parked.deadLetterEventId === statement.eventId;
      throw new CliError(
        `${ours ? "the worker dead-lettered this statement" : `the statement waits behind an earlier dead letter (${parked.deadLetterEventId ?? "?"})`}: ${parked.reason}. ` +
          `See tributary dlq list --topic statements.v1.dlq; then tributary dlq replay --topic statements.v1.dlq --event-id … or tributary dlq discard --service reconciliation --group ${group} …`,
        1,
      );
    }
    const handled = await pool.query(`SELECT 1 FROM "inbox" WHERE "consumer_group" = $1 AND "event_id" = $2::uuid`, [group, statement.eventId]);
    if (handled.rowCount !== null && handled.rowCount > 0) break;
    if (Date.now() > deadline) {
      throw new CliError(`${group} has not handled the statement within ${Math.round(timeoutMs / 1_000)} s (is the reconciliation process up? tributary stack status)`, 1);
    }
    await sleep(300);
  }
  const run = await newestRun(pool, statement.provider, statement.billDate);
  // The run of this statement started after it was published (one machine, one clock); an older
  // newest run means the worker found the same bill reconciled and did nothing.
  if (run === undefined || run.startedAt.getTime() < statement.publishedAt.getTime() - 1_000) return { kind: "already_reconciled", run };
  return run.status === "rejected" ? { kind: "rejected", run } : { kind: "completed", run };
}

interface RunRow {
  run_id: string;
  status: string;
  rejection: string | null;
  bill_row_count: string;
  ledger_record_count: string;
  matched_count: string;
  discrepancy_count: string;
  currency: string;
  bill_net_minor: string;
  ledger_net_minor: string;
  class_totals: unknown;
  supersedes_run_id: string | null;
  started_at: Date;
}

async function newestRun(pool: pg.Pool, provider: ProviderId, billDate: string): Promise<ReconRun | undefined> {
  const { rows } = await pool.query<RunRow>(
    `SELECT run_id, status, rejection, bill_row_count, ledger_record_count, matched_count, discrepancy_count, currency,
            bill_net_minor, ledger_net_minor, class_totals, supersedes_run_id, started_at
       FROM recon_runs WHERE provider = $1 AND bill_date = $2 ORDER BY started_at DESC, run_id DESC LIMIT 1`,
    [provider, billDate],
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  return {
    runId: row.run_id,
    status: row.status,
    rejection: row.rejection,
    billRowCount: Number(row.bill_row_count),
    ledgerRecordCount: Number(row.ledger_record_count),
    matchedCount: Number(row.matched_count),
    discrepancyCount: Number(row.discrepancy_count),
    currency: row.currency.trim(),
    billNetMinor: BigInt(row.bill_net_minor),
    ledgerNetMinor: BigInt(row.ledger_net_minor),
    classes: classCounts(row.class_totals),
    supersedesRunId: row.supersedes_run_id,
    startedAt: row.started_at,
  };
}

/** `class_totals` ({ class: { count, … } }) as counts per class; classes with none left out. */
export function classCounts(totals: unknown): Record<string, number> {
  const counts: Record<string, number> = {};
  if (typeof totals !== "object" || totals === null) return counts;
  for (const [name, total] of Object.entries(totals)) {
    const count = typeof total === "object" && total !== null ? Number((total as { count?: unknown }).count) : Number.NaN;
    if (Number.isFinite(count) && count > 0) counts[name] = count;
  }
  return counts;
}
