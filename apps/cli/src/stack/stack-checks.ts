import pg from "pg";
import { providerIdFromProto } from "@tributary/contracts";
import { ExceptionStatus, ReconciliationService } from "@tributary/contracts/reconciliation/v1/reconciliation_service";
import { withServiceClient } from "../service-client.js";

/** Whether the ledger balances: the sum of every posting per currency, which must be 0. */
export type LedgerCheck =
  | { readonly ok: boolean; readonly source: string; readonly postings: number; readonly sumMinorByCurrency: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly source: string; readonly error: string };

/**
 * The ledger's balance check, read from settlement's database (settlement exports no ledger
 * metric): every posting summed per currency must be 0. A database that cannot be read fails the
 * check; it never passes for want of data it could not see.
 */
export async function ledgerCheck(settlementDatabaseUrl: string): Promise<LedgerCheck> {
  const source = "settlement database: sum(ledger_posting.amount_minor) per currency";
  const pool = new pg.Pool({ connectionString: settlementDatabaseUrl, max: 1, connectionTimeoutMillis: 3_000 });
  try {
    const { rows } = await pool.query<{ currency: string; total: string; postings: string }>(
      "SELECT currency, sum(amount_minor)::text AS total, count(*)::text AS postings FROM ledger_posting GROUP BY currency ORDER BY currency",
    );
    const sums = Object.fromEntries(rows.map((row) => [row.currency.trim(), row.total]));
    return { ok: rows.every((row) => BigInt(row.total) === 0n), source, postings: rows.reduce((n, row) => n + Number(row.postings), 0), sumMinorByCurrency: sums };
  } catch (error) {
    return { ok: false, source, error: error instanceof Error ? error.message : String(error) };
  } finally {
    await pool.end();
  }
}

/** Open reconciliation exceptions per provider and class, or why they could not be read. */
export type ReconClasses =
  | { readonly source: string; readonly openByClass: readonly { readonly provider: string; readonly matchClass: string; readonly open: number }[] }
  | { readonly source: string; readonly error: string };

/** The open exceptions by provider and class, from the running reconciliation's ReconciliationService (reconciliation exports no metric of its own). */
export async function reconClasses(): Promise<ReconClasses> {
  const source = "ReconciliationService.ListExceptions (status open)";
  try {
    const answer = await withServiceClient("reconciliation", ReconciliationService, {}, (client) => client.listExceptions({ status: ExceptionStatus.OPEN }), 5_000);
    const counts = new Map<string, { provider: string; matchClass: string; open: number }>();
    for (const exception of answer.exceptions) {
      const provider = providerIdFromProto(exception.provider) ?? "?";
      const key = `${provider}\u0000${exception.matchClass}`;
      const entry = counts.get(key) ?? { provider, matchClass: exception.matchClass, open: 0 };
      entry.open += 1;
      counts.set(key, entry);
    }
    return { source, openByClass: [...counts.values()] };
  } catch (error) {
    return { source, error: error instanceof Error ? error.message : String(error) };
  }
}
