import type { ProviderId } from "@tributary/contracts";
import type { PoolClient } from "pg";
import { listBatches, updateBatchStatus } from "../adapters/db/pg-batches.js";
import { appendBatchDecided } from "../adapters/kafka/settlement-outbox.js";
import { canTransition, type BatchStatus } from "../domain/settlement-batch.js";
import type { SettlementDeps } from "./ports.js";

/** One discrepancy as reconciliation reported it. */
export interface ReportedDiscrepancy {
  readonly eventId: string;
  readonly reconciliationId: string;
  readonly provider: ProviderId;
  readonly businessDate: string;
  readonly discrepancyClass: string;
  readonly providerTransactionId: string;
  readonly currency: string | undefined;
  readonly ledgerAmountMinor: bigint | undefined;
  readonly billAmountMinor: bigint | undefined;
  readonly billLocation: string;
  readonly description: string;
  /** The reconciliation exception it is, when the event names one. */
  readonly exceptionId?: string | undefined;
}

/**
 * Keeps a discrepancy, attached to the merchant whose record carries that provider transaction
 * id on that provider (none when the ledger has no such record: a row only the bill has).
 */
export async function recordDiscrepancy(tx: PoolClient, d: ReportedDiscrepancy): Promise<void> {
  await tx.query(
    `INSERT INTO reconciliation_discrepancy (event_id, reconciliation_id, provider, business_date, discrepancy_class,
        provider_transaction_id, merchant_id, currency, ledger_amount_minor, bill_amount_minor, bill_location, description, exception_id)
     VALUES ($1, $2, $3, $4, $5, $6,
        (SELECT merchant_id FROM journal_entry WHERE provider = $3 AND provider_reference = $6 AND provider_reference <> ''
          AND entry_type IN ('payment_captured', 'refund_posted') ORDER BY booked_at LIMIT 1),
        $7, $8, $9, $10, $11, $12::uuid)
     ON CONFLICT (event_id) DO NOTHING`,
    [
      d.eventId, d.reconciliationId, d.provider, d.businessDate, d.discrepancyClass, d.providerTransactionId,
      d.currency ?? null, d.ledgerAmountMinor?.toString() ?? null, d.billAmountMinor?.toString() ?? null, d.billLocation, d.description,
      d.exceptionId ?? null,
    ],
  );
}

/** What applying a completed run did to the day's batches. */
export interface ReconciliationApplied {
  readonly reconciled: readonly string[];
  readonly held: readonly string[];
  /** Batches already paid out (or otherwise past the decision), left as they were. */
  readonly unchanged: readonly string[];
}

/**
 * Applies a completed reconciliation run to the provider's batches of the day: a batch with no
 * discrepancy of its merchant becomes `reconciled` (`SettlementBatchReconciled`); one with any is
 * `held` with their count (`SettlementBatchHeld`), and its payout waits. Discrepancies no record
 * of ours can be attributed to (a row only the bill has) — or fewer discrepancies received than
 * the run reports — hold every batch of the day: a check whose data is missing fails.
 */
export async function applyReconciliation(
  deps: SettlementDeps,
  tx: PoolClient,
  run: { readonly reconciliationId: string; readonly provider: ProviderId; readonly businessDate: string; readonly discrepancyCount: bigint },
): Promise<ReconciliationApplied> {
  // What the run reported, so a later release knows whether every discrepancy of it arrived.
  await tx.query(
    `INSERT INTO reconciliation_run_report (reconciliation_id, provider, business_date, discrepancy_count) VALUES ($1, $2, $3, $4)
     ON CONFLICT (reconciliation_id) DO NOTHING`,
    [run.reconciliationId, run.provider, run.businessDate, run.discrepancyCount.toString()],
  );
  const { rows } = await tx.query<{ merchant_id: string | null; n: string }>(
    "SELECT merchant_id, count(*) AS n FROM reconciliation_discrepancy WHERE reconciliation_id = $1 GROUP BY merchant_id",
    [run.reconciliationId],
  );
  const perMerchant = new Map<string, bigint>();
  let received = 0n;
  let unattributed = 0n;
  for (const row of rows) {
    received += BigInt(row.n);
    if (row.merchant_id === null) unattributed += BigInt(row.n);
    else perMerchant.set(row.merchant_id, BigInt(row.n));
  }
  if (received < run.discrepancyCount) unattributed += run.discrepancyCount - received;
  const now = deps.clock();
  const result = { reconciled: [] as string[], held: [] as string[], unchanged: [] as string[] };
  for (const batch of await listBatches(tx, { businessDate: run.businessDate, provider: run.provider })) {
    const count = (perMerchant.get(batch.merchantId) ?? 0n) + unattributed;
    const next: BatchStatus = count > 0n ? "held" : "reconciled";
    // Already in that state (a second clean run, a replay): nothing new to say.
    const same = batch.status === next;
    if (same || !canTransition(batch.status, next)) {
      result.unchanged.push(batch.batchId);
      continue;
    }
    await updateBatchStatus(tx, batch.batchId, { status: next, reconciliationId: run.reconciliationId, discrepancyCount: count, at: now });
    await appendBatchDecided(tx, batch.batchId, next === "held" ? { status: "held", discrepancyCount: count } : { status: "reconciled" }, run.reconciliationId);
    (next === "held" ? result.held : result.reconciled).push(batch.batchId);
  }
  return result;
}

/**
 * A person closed a reconciliation exception: its discrepancy is marked closed, and each held batch
 * of that provider and day whose run's discrepancies are now all closed — its merchant's and the
 * unattributed ones, with every discrepancy the run reported received — becomes `reconciled`
 * (`SettlementBatchReconciled`), so the payout scheduler pays it. A hold whose data is incomplete
 * (a discrepancy reported but never received, a run from before runs were recorded) stays held
 * until a clean run. Returns the batches released.
 */
export async function closeException(
  deps: SettlementDeps,
  tx: PoolClient,
  closure: { readonly exceptionId: string; readonly provider: ProviderId; readonly businessDate: string; readonly closedAt: Date },
): Promise<readonly string[]> {
  await tx.query("UPDATE reconciliation_discrepancy SET closed_at = $2 WHERE exception_id = $1::uuid AND closed_at IS NULL", [closure.exceptionId, closure.closedAt]);
  const released: string[] = [];
  for (const batch of await listBatches(tx, { businessDate: closure.businessDate, provider: closure.provider })) {
    if (batch.status !== "held" || batch.reconciliationId === undefined) continue;
    const { rows } = await tx.query<{ reported: string | null; received: string; open: string }>(
      `SELECT (SELECT discrepancy_count FROM reconciliation_run_report WHERE reconciliation_id = $1)::text AS reported,
              (SELECT count(*) FROM reconciliation_discrepancy WHERE reconciliation_id = $1)::text AS received,
              (SELECT count(*) FROM reconciliation_discrepancy WHERE reconciliation_id = $1 AND closed_at IS NULL
                 AND (merchant_id = $2 OR merchant_id IS NULL))::text AS open`,
      [batch.reconciliationId, batch.merchantId],
    );
    const counts = rows[0];
    if (counts === undefined || counts.reported === null) continue;
    if (BigInt(counts.received) < BigInt(counts.reported) || BigInt(counts.open) > 0n) continue;
    await updateBatchStatus(tx, batch.batchId, { status: "reconciled", discrepancyCount: 0n, at: deps.clock() });
    await appendBatchDecided(tx, batch.batchId, { status: "reconciled" }, batch.reconciliationId);
    released.push(batch.batchId);
  }
  return released;
}
