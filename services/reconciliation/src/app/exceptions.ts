import type { ProviderId } from "@tributary/contracts";
import { err, ok, type Result } from "@tributary/result";
import type { Tx } from "./ports.js";

/** Where an exception stands: open, resolved with a note, or adjusted (a correcting entry was made). */
export type ExceptionStatus = "open" | "resolved" | "adjusted";

/** One row of the exceptions queue. */
export interface ReconException {
  readonly exceptionId: string;
  readonly provider: ProviderId;
  readonly billDate: string;
  readonly runId: string;
  readonly matchClass: string;
  readonly itemKey: string;
  readonly billLocations: string;
  readonly billAmountMinor: bigint | undefined;
  readonly ledgerAmountMinor: bigint | undefined;
  readonly currency: string;
  readonly description: string;
  readonly status: ExceptionStatus;
  readonly note: string | undefined;
  readonly resolvedBy: string | undefined;
  readonly resolvedAt: Date | undefined;
  readonly createdAt: Date;
}

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
}

const COLUMNS = `exception_id, provider, bill_date, run_id, match_class, item_key, bill_locations, bill_amount_minor::text, ledger_amount_minor::text,
  currency, description, status, note, resolved_by, resolved_at, created_at`;

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
  };
}

/** Lists the exceptions queue, newest day first, filtered by provider, day and status. */
export async function listExceptions(tx: Tx, filter: { readonly provider?: ProviderId; readonly billDate?: string; readonly status?: ExceptionStatus }): Promise<ReconException[]> {
  const { rows } = await tx.query<ExceptionRow>(
    `SELECT ${COLUMNS} FROM recon_exceptions
      WHERE ($1::text IS NULL OR provider = $1) AND ($2::text IS NULL OR bill_date = $2) AND ($3::text IS NULL OR status = $3)
      ORDER BY bill_date DESC, created_at, item_key`,
    [filter.provider ?? null, filter.billDate ?? null, filter.status ?? null],
  );
  return rows.map(exceptionOf);
}

/** Why an exception could not be closed. */
export type ResolveExceptionError =
  | { readonly code: "exception_not_found"; readonly message: string }
  | { readonly code: "exception_not_open"; readonly message: string }
  | { readonly code: "note_required"; readonly message: string };

/**
 * Closes an open exception as `resolved` (explained, nothing to post) or `adjusted` (a correcting
 * entry was made), saying who and why; the time is the clock's. A closed one stays closed.
 */
export async function resolveException(
  tx: Tx,
  input: { readonly exceptionId: string; readonly status: Exclude<ExceptionStatus, "open">; readonly note: string; readonly by: string; readonly at: Date },
): Promise<Result<ReconException, ResolveExceptionError>> {
  if (input.note.trim() === "" || input.by.trim() === "") return err({ code: "note_required", message: "a note and who resolves it are required" });
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(input.exceptionId)) return err({ code: "exception_not_found", message: `no exception ${input.exceptionId}` });
  const { rows } = await tx.query<ExceptionRow>(
    `UPDATE recon_exceptions SET status = $2, note = $3, resolved_by = $4, resolved_at = $5
      WHERE exception_id = $1::uuid AND status = 'open' RETURNING ${COLUMNS}`,
    [input.exceptionId, input.status, input.note, input.by, input.at],
  );
  const row = rows[0];
  if (row !== undefined) return ok(exceptionOf(row));
  const found = await tx.query<{ status: string }>(`SELECT status FROM recon_exceptions WHERE exception_id = $1::uuid`, [input.exceptionId]);
  return found.rows.length === 0
    ? err({ code: "exception_not_found", message: `no exception ${input.exceptionId}` })
    : err({ code: "exception_not_open", message: `exception ${input.exceptionId} is already ${found.rows[0]?.status ?? ""}` });
}
