/**
 * The settlement batches' SQL: which entries a close takes (unclaimed ones up to the business
 * date), reserves that fall due, the previous batch's carried-forward net, and the batch rows.
 */
import type { ProviderId } from "@tributary/contracts";
import { parseCurrencyCode, type CurrencyCode } from "@tributary/money";
import type { BatchedEntry } from "../../domain/batch-totals.js";
import type { BatchStatus, SettlementBatch } from "../../domain/settlement-batch.js";
import type { Queryable } from "./pg-ledger.js";

/**
 * How far back a close looks for unclaimed entries: an entry booked on an earlier day that
 * arrived after that day closed (a late capture notification) goes into the next batch. Entries
 * later than this are beyond any provider's own correction window and need a manual adjustment.
 */
export const LATE_ENTRY_LOOKBACK_DAYS = 31;

/** An entry a close may claim, with the keys a batch groups by. */
export interface ClaimableEntry extends BatchedEntry {
  readonly entryId: string;
  readonly merchantId: string;
  readonly currency: CurrencyCode;
}

function currencyOf(text: string): CurrencyCode {
  const parsed = parseCurrencyCode(text);
  if (!parsed.ok) throw new Error(`ledger row has currency ${text}`);
  return parsed.value;
}

/** Serialises closes of one provider (two instances closing two days cannot claim one entry twice). */
export async function lockProviderClose(tx: Queryable, provider: ProviderId): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtextextended('settlement-close:' || $1, 0))", [provider]);
}

/** Records the day as closed; false when it had been closed already (nothing else is done then). */
export async function markDayClosed(tx: Queryable, provider: ProviderId, businessDate: string, at: Date): Promise<boolean> {
  const { rowCount } = await tx.query(
    "INSERT INTO business_day_close (provider, business_date, closed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    [provider, businessDate, at.toISOString()],
  );
  return rowCount === 1;
}

/** Captures, posted refunds and adjustments of the provider booked up to the date and not in any batch yet. */
export async function unclaimedEntries(tx: Queryable, provider: ProviderId, businessDate: string): Promise<ClaimableEntry[]> {
  const { rows } = await tx.query<{
    entry_id: string;
    merchant_id: string;
    currency: string;
    entry_type: BatchedEntry["entryType"];
    amount_minor: string;
    provider_fee_minor: string;
    platform_fee_minor: string;
    merchant_bears_provider_fee: boolean;
  }>(
    `SELECT e.entry_id, e.merchant_id, e.currency, e.entry_type, e.amount_minor, e.provider_fee_minor, e.platform_fee_minor, e.merchant_bears_provider_fee
       FROM journal_entry e
      WHERE e.provider = $1 AND e.business_date <= $2::date AND e.business_date > $2::date - $3::integer
        AND e.entry_type IN ('payment_captured', 'refund_posted', 'adjustment') AND e.merchant_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM batch_entry b WHERE b.entry_id = e.entry_id)
      ORDER BY e.booked_at, e.entry_id`,
    [provider, businessDate, LATE_ENTRY_LOOKBACK_DAYS],
  );
  return rows.map((row) => ({
    entryId: row.entry_id,
    merchantId: row.merchant_id,
    currency: currencyOf(row.currency),
    entryType: row.entry_type,
    amountMinor: BigInt(row.amount_minor),
    providerFeeMinor: BigInt(row.provider_fee_minor),
    platformFeeMinor: BigInt(row.platform_fee_minor),
    merchantBearsProviderFee: row.merchant_bears_provider_fee,
  }));
}

/** A withheld reserve that is due for release. */
export interface DueReserve {
  readonly entryId: string;
  readonly merchantId: string;
  readonly currency: CurrencyCode;
  readonly amountMinor: bigint;
}

/** Reserves of the provider's batches whose release date has come and that were not released yet. */
export async function dueReserves(tx: Queryable, provider: ProviderId, businessDate: string): Promise<DueReserve[]> {
  const { rows } = await tx.query<{ entry_id: string; merchant_id: string; currency: string; amount_minor: string }>(
    `SELECT w.entry_id, w.merchant_id, w.currency, w.amount_minor
       FROM journal_entry w
      WHERE w.entry_type = 'reserve_withheld' AND w.provider = $1 AND w.release_on <= $2::date
        AND NOT EXISTS (SELECT 1 FROM journal_entry r WHERE r.source_key = 'reserve_release:' || w.entry_id::text)
      ORDER BY w.release_on, w.entry_id`,
    [provider, businessDate],
  );
  return rows.map((row) => ({ entryId: row.entry_id, merchantId: row.merchant_id, currency: currencyOf(row.currency), amountMinor: BigInt(row.amount_minor) }));
}

/** The negative net the merchant's latest earlier batch with this provider carried forward (0 if none). */
export async function carriedForward(tx: Queryable, merchantId: string, provider: ProviderId, currency: CurrencyCode, businessDate: string): Promise<bigint> {
  const { rows } = await tx.query<{ carried_forward_minor: string }>(
    `SELECT carried_forward_minor FROM settlement_batch
      WHERE merchant_id = $1 AND provider = $2 AND currency = $3 AND business_date < $4::date
      ORDER BY business_date DESC LIMIT 1`,
    [merchantId, provider, currency, businessDate],
  );
  return rows[0] === undefined ? 0n : BigInt(rows[0].carried_forward_minor);
}

/** Writes a closed batch and claims its entries (an entry can be claimed by one batch only). */
export async function insertBatch(tx: Queryable, batch: SettlementBatch, entryIds: readonly string[]): Promise<void> {
  await tx.query(
    `INSERT INTO settlement_batch (batch_id, merchant_id, provider, business_date, settlement_date, currency, status,
        payment_count, refund_count, gross_minor, refunds_minor, provider_fees_minor, platform_fees_minor, adjustments_minor,
        reserve_withheld_minor, reserve_released_minor, carried_in_minor, net_minor, payable_minor, carried_forward_minor,
        closed_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)`,
    [
      batch.batchId,
      batch.merchantId,
      batch.provider,
      batch.businessDate,
      batch.settlementDate,
      batch.currency,
      batch.status,
      batch.paymentCount.toString(),
      batch.refundCount.toString(),
      batch.grossMinor.toString(),
      batch.refundsMinor.toString(),
      batch.providerFeesMinor.toString(),
      batch.platformFeesMinor.toString(),
      batch.adjustmentsMinor.toString(),
      batch.reserveWithheldMinor.toString(),
      batch.reserveReleasedMinor.toString(),
      batch.carriedInMinor.toString(),
      batch.netMinor.toString(),
      batch.payableMinor.toString(),
      batch.carriedForwardMinor.toString(),
      batch.closedAt.toISOString(),
    ],
  );
  if (entryIds.length > 0) {
    await tx.query("INSERT INTO batch_entry (entry_id, batch_id) SELECT unnest($1::uuid[]), $2", [entryIds, batch.batchId]);
  }
}

interface BatchRow {
  batch_id: string;
  merchant_id: string;
  provider: ProviderId;
  business_date: string;
  settlement_date: string;
  currency: string;
  status: BatchStatus;
  payment_count: string;
  refund_count: string;
  gross_minor: string;
  refunds_minor: string;
  provider_fees_minor: string;
  platform_fees_minor: string;
  adjustments_minor: string;
  reserve_withheld_minor: string;
  reserve_released_minor: string;
  carried_in_minor: string;
  net_minor: string;
  payable_minor: string;
  carried_forward_minor: string;
  closed_at: Date;
  reconciliation_id: string | null;
  discrepancy_count: string | null;
  merchant_provider_fees_minor: string;
}

const batchColumns = `b.batch_id, b.merchant_id, b.provider, to_char(b.business_date, 'YYYY-MM-DD') AS business_date,
  to_char(b.settlement_date, 'YYYY-MM-DD') AS settlement_date, b.currency, b.status, b.payment_count, b.refund_count,
  b.gross_minor, b.refunds_minor, b.provider_fees_minor, b.platform_fees_minor, b.adjustments_minor, b.reserve_withheld_minor,
  b.reserve_released_minor, b.carried_in_minor, b.net_minor, b.payable_minor, b.carried_forward_minor, b.closed_at,
  b.reconciliation_id, b.discrepancy_count,
  b.gross_minor - b.refunds_minor - b.platform_fees_minor + b.adjustments_minor - b.reserve_withheld_minor + b.reserve_released_minor
    + b.carried_in_minor - b.net_minor AS merchant_provider_fees_minor`;

function toBatch(row: BatchRow): SettlementBatch {
  return {
    batchId: row.batch_id,
    merchantId: row.merchant_id,
    provider: row.provider,
    businessDate: row.business_date,
    settlementDate: row.settlement_date,
    currency: currencyOf(row.currency),
    status: row.status,
    paymentCount: BigInt(row.payment_count),
    refundCount: BigInt(row.refund_count),
    grossMinor: BigInt(row.gross_minor),
    refundsMinor: BigInt(row.refunds_minor),
    providerFeesMinor: BigInt(row.provider_fees_minor),
    merchantProviderFeesMinor: BigInt(row.merchant_provider_fees_minor),
    platformFeesMinor: BigInt(row.platform_fees_minor),
    adjustmentsMinor: BigInt(row.adjustments_minor),
    reserveWithheldMinor: BigInt(row.reserve_withheld_minor),
    reserveReleasedMinor: BigInt(row.reserve_released_minor),
    carriedInMinor: BigInt(row.carried_in_minor),
    netMinor: BigInt(row.net_minor),
    payableMinor: BigInt(row.payable_minor),
    carriedForwardMinor: BigInt(row.carried_forward_minor),
    closedAt: row.closed_at,
    reconciliationId: row.reconciliation_id ?? undefined,
    discrepancyCount: row.discrepancy_count === null ? undefined : BigInt(row.discrepancy_count),
  };
}

/** Batches of one business date, optionally one provider and/or merchant, in a stable order. */
export async function listBatches(
  db: Queryable,
  filter: { readonly businessDate: string; readonly provider?: ProviderId | undefined; readonly merchantId?: string | undefined },
): Promise<SettlementBatch[]> {
  const { rows } = await db.query<BatchRow>(
    `SELECT ${batchColumns} FROM settlement_batch b
      WHERE b.business_date = $1::date AND ($2::payment_provider IS NULL OR b.provider = $2) AND ($3::text IS NULL OR b.merchant_id = $3)
      ORDER BY b.provider, b.merchant_id, b.currency`,
    [filter.businessDate, filter.provider ?? null, filter.merchantId ?? null],
  );
  return rows.map(toBatch);
}

/** One batch by id. */
export async function getBatch(db: Queryable, batchId: string, options: { readonly forUpdate?: boolean } = {}): Promise<SettlementBatch | undefined> {
  const { rows } = await db.query<BatchRow>(
    `SELECT ${batchColumns} FROM settlement_batch b WHERE b.batch_id = $1${options.forUpdate === true ? " FOR UPDATE" : ""}`,
    [batchId],
  );
  return rows[0] === undefined ? undefined : toBatch(rows[0]);
}

/** Sets a batch's status (and the reconciliation run that decided it). */
export async function updateBatchStatus(
  tx: Queryable,
  batchId: string,
  change: { readonly status: BatchStatus; readonly reconciliationId?: string; readonly discrepancyCount?: bigint; readonly at: Date },
): Promise<void> {
  await tx.query(
    `UPDATE settlement_batch SET status = $2, reconciliation_id = COALESCE($3, reconciliation_id),
        discrepancy_count = COALESCE($4::bigint, discrepancy_count), updated_at = $5 WHERE batch_id = $1`,
    [batchId, change.status, change.reconciliationId ?? null, change.discrepancyCount?.toString() ?? null, change.at.toISOString()],
  );
}
