import { providerIdFromProto } from "@tributary/contracts";
import { ExceptionStatus, ReconciliationService } from "@tributary/contracts/reconciliation/v1/reconciliation_service";
import { withServiceClient } from "../service-client.js";
import { KEY_METRICS, type KeyMetricsReport } from "./stack-metrics.js";

/** Whether the ledger balances: the sum of every posting per currency, which must be 0. */
export type LedgerCheck =
  | { readonly ok: boolean; readonly source: string; readonly sumMinorByCurrency: Readonly<Record<string, string>>; readonly readAgeS: number | undefined }
  | { readonly ok: false; readonly source: string; readonly error: string };

/** Older than this, settlement's imbalance reading is stale (it reads every 10 s): the check fails. */
export const LEDGER_READ_AGE_MAX_S = 60;

/**
 * The ledger's balance check from settlement's own `settlement_ledger_imbalance` gauge (every
 * posting summed per currency, read by settlement in the background): every currency must read
 * 0, and the reading must be fresh. No reading at all (settlement not scraped, or not read yet)
 * fails the check; it never passes for want of data.
 */
export function ledgerCheckOf(metrics: KeyMetricsReport): LedgerCheck {
  const source = `${KEY_METRICS.ledgerImbalance} on settlement's /metrics`;
  if (metrics.ledgerImbalance.length === 0) return { ok: false, source, error: `settlement reports no ${KEY_METRICS.ledgerImbalance} (not scraped, or not read yet)` };
  const readAgeS = metrics.ledgerImbalance[0]?.readAgeS;
  const fresh = readAgeS !== undefined && readAgeS <= LEDGER_READ_AGE_MAX_S;
  return {
    ok: fresh && metrics.ledgerImbalance.every((entry) => entry.imbalanceMinor === 0),
    source,
    sumMinorByCurrency: Object.fromEntries(metrics.ledgerImbalance.map((entry) => [entry.currency, String(entry.imbalanceMinor)])),
    readAgeS,
  };
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
