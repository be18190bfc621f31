import type { SettlementService } from "@tributary/contracts/settlement/v1/settlement_service";
import type { MethodAccess } from "@tributary/grpc";

/** Scope of finance tools: batches of the merchants the token is bound to (or all). */
export const SETTLEMENT_READ = "settlement:read";
/** Scope of reconciliation workers: the records of the providers the token is bound to. */
export const SETTLEMENT_RECORDS = "settlement:records";

/** Scope of the operator (or scheduler) that closes business days. */
export const SETTLEMENT_CLOSE = "settlement:close";

/**
 * Which scope each method requires. Nothing in this API writes ledger entries of its own: payments
 * and refunds come from payments.v1 and orders.v1, approved adjustments from reconciliation.v1
 * (`ExceptionResolved`), payouts from the service's payout scheduler; closing a day early writes
 * the same reserve entries the service's day closer would.
 */
export const settlementServiceAccess: { readonly [K in keyof (typeof SettlementService)["method"]]: MethodAccess } = {
  getBatch: [SETTLEMENT_READ],
  listBatches: [SETTLEMENT_READ],
  streamRecords: [SETTLEMENT_RECORDS],
  getBalances: [SETTLEMENT_READ],
  closeBusinessDay: [SETTLEMENT_CLOSE],
  exportReport: [SETTLEMENT_READ],
  streamBatchEntries: [SETTLEMENT_READ],
  streamPaymentsForReconciliation: [SETTLEMENT_RECORDS],
};
