import { metrics, type Counter } from "@opentelemetry/api";
import type { ProviderId } from "@tributary/contracts";
import type { ReconcileOutcome } from "./app/reconcile-bill.js";
import { MATCH_CLASSES } from "./domain/match.js";

/**
 * The reconciliation worker's own metrics, on its Prometheus endpoint:
 * - `reconciliation_runs_total{provider, outcome}`: bills handled — completed, rejected (malformed,
 *   nothing applied), already_reconciled (the same file again);
 * - `reconciliation_items_total{provider, class}`: the items of each completed run by match class
 *   (matched, fee_mismatch, missing_in_bill, timing, …), so an SRE sees the day's classes move.
 * Counted when the run's use case returns inside the statement's inbox transaction, just before it
 * commits: a commit that then fails has counted a run the next delivery counts again.
 * Made when the worker starts, from the meter telemetry registered by then.
 */
export interface ReconciliationMetrics {
  recordRun(provider: ProviderId, outcome: ReconcileOutcome): void;
}

export function createReconciliationMetrics(): ReconciliationMetrics {
  const meter = metrics.getMeter("@tributary/reconciliation");
  const runs: Counter = meter.createCounter("reconciliation.runs", { unit: "{run}", description: "Bills handled by outcome: completed, rejected, already_reconciled" });
  const items: Counter = meter.createCounter("reconciliation.items", { unit: "{item}", description: "Items of completed reconciliation runs by match class" });
  return {
    recordRun(provider, outcome) {
      runs.add(1, { provider, outcome: outcome.kind });
      if (outcome.kind !== "completed") return;
      for (const matchClass of MATCH_CLASSES) {
        const count = outcome.totals[matchClass].count;
        if (count > 0) items.add(count, { provider, class: matchClass });
      }
    },
  };
}
