import type { ProviderId } from "@tributary/contracts";
import { parseCurrencyCode } from "@tributary/money";
import type { Pool } from "pg";
import type { LedgerRecordsSource } from "../../app/ports.js";
import type { BillRowKind } from "../../domain/bill.js";
import type { LedgerRecord, LedgerStatus } from "../../domain/ledger-record.js";

interface LedgerRow {
  record_id: string;
  business_date: string;
  kind: string;
  provider_txn_id: string;
  merchant_order_ref: string;
  provider_refund_id: string;
  merchant_refund_ref: string;
  amount_minor: string;
  fee_minor: string;
  currency: string;
  status: string;
  booked_at: Date;
}

const KINDS: readonly BillRowKind[] = ["payment", "refund", "adjustment"];
const STATUSES: readonly LedgerStatus[] = ["succeeded", "refund_succeeded", "adjusted"];

function recordOf(row: LedgerRow): LedgerRecord {
  const currency = parseCurrencyCode(row.currency.trim());
  if (!currency.ok || !KINDS.includes(row.kind as BillRowKind) || !STATUSES.includes(row.status as LedgerStatus)) {
    // The table is ours and its writers are ours: a bad row is a broken invariant, not input.
    throw new Error(`ledger_records ${row.record_id}: bad kind, status or currency (${row.kind}/${row.status}/${row.currency})`);
  }
  return {
    recordId: row.record_id,
    kind: row.kind as BillRowKind,
    providerTxnId: row.provider_txn_id,
    merchantOrderRef: row.merchant_order_ref,
    providerRefundId: row.provider_refund_id,
    merchantRefundRef: row.merchant_refund_ref,
    amountMinor: BigInt(row.amount_minor),
    feeMinor: BigInt(row.fee_minor),
    currency: currency.value,
    status: row.status as LedgerStatus,
    bookedAtMs: row.booked_at.getTime(),
    businessDate: row.business_date,
  };
}

/**
 * The {@link LedgerRecordsSource} over this service's `ledger_records` table, read in pages by
 * key so a day of a million records is never one result set. It stands in for settlement's gRPC
 * stream until that is wired; whatever fills the table (tests, a feed) owns its content.
 */
export function createPgLedgerRecords(pool: Pool, pageSize = 10_000): LedgerRecordsSource {
  return {
    async *recordsFor(provider: ProviderId, businessDate: string): AsyncIterable<LedgerRecord> {
      let after = "";
      for (;;) {
        const { rows } = await pool.query<LedgerRow>(
          `SELECT record_id, business_date, kind, provider_txn_id, merchant_order_ref, provider_refund_id, merchant_refund_ref,
                  amount_minor::text, fee_minor::text, currency, status, booked_at
             FROM ledger_records WHERE provider = $1 AND business_date = $2 AND record_id > $3
            ORDER BY record_id LIMIT $4`,
          [provider, businessDate, after, pageSize],
        );
        for (const row of rows) yield recordOf(row);
        if (rows.length < pageSize) return;
        after = rows[rows.length - 1]?.record_id ?? after;
      }
    },
  };
}

/** Writes records into `ledger_records` (tests and feeds); an existing record id is replaced. */
export async function insertLedgerRecords(pool: Pool, provider: ProviderId, records: readonly LedgerRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += 1000) {
    const chunk = records.slice(i, i + 1000);
    const columns = (pick: (r: LedgerRecord) => unknown): unknown[] => chunk.map(pick);
    await pool.query(
      `INSERT INTO ledger_records (provider, record_id, business_date, kind, provider_txn_id, merchant_order_ref, provider_refund_id,
                                   merchant_refund_ref, amount_minor, fee_minor, currency, status, booked_at)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::text[], $13::timestamptz[])
       ON CONFLICT (provider, record_id) DO UPDATE SET business_date = EXCLUDED.business_date, kind = EXCLUDED.kind,
         provider_txn_id = EXCLUDED.provider_txn_id, merchant_order_ref = EXCLUDED.merchant_order_ref,
         provider_refund_id = EXCLUDED.provider_refund_id, merchant_refund_ref = EXCLUDED.merchant_refund_ref,
         amount_minor = EXCLUDED.amount_minor, fee_minor = EXCLUDED.fee_minor, currency = EXCLUDED.currency,
         status = EXCLUDED.status, booked_at = EXCLUDED.booked_at`,
      [
        provider,
        columns((r) => r.recordId),
        columns((r) => r.businessDate),
        columns((r) => r.kind),
        columns((r) => r.providerTxnId),
        columns((r) => r.merchantOrderRef),
        columns((r) => r.providerRefundId),
        columns((r) => r.merchantRefundRef),
        columns((r) => r.amountMinor.toString()),
        columns((r) => r.feeMinor.toString()),
        columns((r) => r.currency),
        columns((r) => r.status),
        columns((r) => new Date(r.bookedAtMs)),
      ],
    );
  }
}
