import type { SettlementService } from "@tributary/contracts/settlement/v1/settlement_service";
import type { MethodAccess } from "@tributary/grpc";

/** Scope of finance tools: batches of the merchants the token is bound to (or all). */
export const SETTLEMENT_READ = "settlement:read";
/** Scope of reconciliation workers: the records of the providers the token is bound to. */
export const SETTLEMENT_RECORDS = "settlement:records";

/** Scope of the operator (or scheduler) that closes business days. */
export const SETTLEMENT_CLOSE = "settlement:close";

/** Scope of the operator (or payout scheduler) that pays reconciled batches out. */
export const SETTLEMENT_PAYOUT = "settlement:payout";

/** Scope of the finance approver who posts adjustments (the credential's id is recorded as the approver). */
export const SETTLEMENT_ADJUST = "settlement:adjust";

/**
 * Which scope each method requires. Nothing in this API writes payments or refunds to the ledger;
 * closing a day writes only the batch's own reserve entries, a payout only merchant payable →
 * payout clearing, an adjustment only suspense ↔ merchant payable.
 */
export const settlementServiceAccess: { readonly [K in keyof (typeof SettlementService)["method"]]: MethodAccess } = {
  getBatch: [SETTLEMENT_READ],
  listBatches: [SETTLEMENT_READ],
  streamRecords: [SETTLEMENT_RECORDS],
  getBalances: [SETTLEMENT_READ],
  closeBusinessDay: [SETTLEMENT_CLOSE],
  exportReport: [SETTLEMENT_READ],
  instructPayout: [SETTLEMENT_PAYOUT],
  streamBatchEntries: [SETTLEMENT_READ],
  postAdjustment: [SETTLEMENT_ADJUST],
  streamPaymentsForReconciliation: [SETTLEMENT_RECORDS],
};
