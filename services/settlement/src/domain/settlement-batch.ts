import type { ProviderId } from "@tributary/contracts";
import type { CurrencyCode } from "@tributary/money";
import type { BatchTotals } from "./batch-totals.js";

/** Where a batch stands: closed at the cut-off, then reconciled or held, then paid out. */
export type BatchStatus = "closed" | "reconciled" | "held" | "paid_out";

/** One merchant's settlement with one provider for one business date. */
export interface SettlementBatch extends BatchTotals {
  readonly batchId: string;
  readonly merchantId: string;
  readonly provider: ProviderId;
  readonly businessDate: string;
  /** The payout date: business date + the provider's cycle (T+1). */
  readonly settlementDate: string;
  readonly currency: CurrencyCode;
  readonly status: BatchStatus;
  readonly closedAt: Date;
  readonly reconciliationId: string | undefined;
  readonly discrepancyCount: bigint | undefined;
}

/** Why a status change is refused. */
export type BatchTransitionError = { readonly code: "invalid_transition"; readonly message: string };

/**
 * The batch lifecycle: closed → reconciled | held; held → reconciled (after the discrepancies
 * are resolved); reconciled → paid_out. Reconciling twice with the same run is no change.
 */
export function canTransition(from: BatchStatus, to: BatchStatus): boolean {
  switch (from) {
    case "closed":
      return to === "reconciled" || to === "held";
    case "held":
      return to === "reconciled" || to === "held";
    case "reconciled":
      return to === "paid_out" || to === "reconciled";
    case "paid_out":
      return false;
  }
}
