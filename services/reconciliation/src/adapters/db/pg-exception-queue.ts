import type { ExceptionQueue, ExceptionStatus, ReconException } from "../../app/exceptions.js";
import type { ProviderId } from "@tributary/contracts";

interface ExceptionRow {
  exception_id: string;
  provider: ProviderId;
  bill_date: string;
  run_id: string;
  match_class: string;
  item_key: string;
  bill_locations: string;
  bill_amount_minor: string | null;
  ledger_amount_minor: string | null;
  currency: string;
  description: string;
  status: ExceptionStatus;
  note: string | null;
  resolved_by: string | null;
  resolved_at: Date | null;
  created_at: Date;
  adjustment_merchant_id: string | null;
  adjustment_amount_minor: string | null;
}

const COLUMNS = `exception_id, provider, bill_date, run_id, match_class, item_key, bill_locations, bill_amount_minor::text, ledger_amount_minor::text,
  currency, description, status, note, resolved_by, resolved_at, created_at, adjustment_merchant_id, adjustment_amount_minor::text`;

function exceptionOf(row: ExceptionRow): ReconException {
  return {
    exceptionId: row.exception_id,
    provider: row.provider,
    billDate: row.bill_date,
    runId: row.run_id,
    matchClass: row.match_class,
    itemKey: row.item_key,
    billLocations: row.bill_locations,
    billAmountMinor: row.bill_amount_minor === null ? undefined : BigInt(row.bill_amount_minor),
    ledgerAmountMinor: row.ledger_amount_minor === null ? undefined : BigInt(row.ledger_amount_minor),
    currency: row.currency.trim(),
    description: row.description,
    status: row.status,
    note: row.note ?? undefined,
    resolvedBy: row.resolved_by ?? undefined,
    resolvedAt: row.resolved_at ?? undefined,
    createdAt: row.created_at,
    adjustment:
      row.adjustment_merchant_id === null || row.adjustment_amount_minor === null
        ? undefined
        : { merchantId: row.adjustment_merchant_id, amountMinor: BigInt(row.adjustment_amount_minor) },
  };
}

/** The {@link ExceptionQueue} on the `recon_exceptions` table. */
export function createPgExceptionQueue(): ExceptionQueue {
  return {
    async list(tx, filter) {
      const { rows } = await tx.query<ExceptionRow>(
        `SELECT ${COLUMNS} FROM recon_exceptions
          WHERE ($1::text IS NULL OR provider = $1) AND ($2::text IS NULL OR bill_date = $2) AND ($3::text IS NULL OR status = $3)
          ORDER BY bill_date DESC, created_at, item_key`,
        [filter.provider ?? null, filter.billDate ?? null, filter.status ?? null],
      );
      return rows.map(exceptionOf);
    },
    async closeIfOpen(tx, close) {
      const { rows } = await tx.query<ExceptionRow>(
        `UPDATE recon_exceptions SET status = $2, note = $3, resolved_by = $4, resolved_at = $5, adjustment_merchant_id = $6, adjustment_amount_minor = $7
          WHERE exception_id = $1::uuid AND status = 'open' RETURNING ${COLUMNS}`,
        [close.exceptionId, close.status, close.note, close.by, close.at, close.adjustment?.merchantId ?? null, close.adjustment?.amountMinor.toString() ?? null],
      );
      return rows[0] === undefined ? undefined : exceptionOf(rows[0]);
    },
    async statusOf(tx, exceptionId) {
      const { rows } = await tx.query<{ status: ExceptionStatus }>(`SELECT status FROM recon_exceptions WHERE exception_id = $1::uuid`, [exceptionId]);
      return rows[0]?.status;
    },
    async currencyOf(tx, exceptionId) {
      const { rows } = await tx.query<{ currency: string }>(`SELECT currency FROM recon_exceptions WHERE exception_id = $1::uuid`, [exceptionId]);
      return rows[0]?.currency.trim();
    },
    async providerOf(tx, exceptionId) {
      const { rows } = await tx.query<{ provider: ProviderId }>(`SELECT provider FROM recon_exceptions WHERE exception_id = $1::uuid FOR UPDATE`, [exceptionId]);
      return rows[0]?.provider;
    },
  };
}
