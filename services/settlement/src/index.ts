/**
 * @tributary/settlement: the ledger, fees and settlement batches. The service is started with
 * `startSettlementService`; the rest is its public read API for tools and tests.
 */
export { accountIdOf, accounts, ACCOUNT_KINDS } from "./domain/account.js";
export type { AccountKind, LedgerAccount } from "./domain/account.js";
export { DEFAULT_FEE_TERMS } from "./domain/fee-terms.js";
export type { FeeTerms, MerchantTerms, ProviderFeeRule, ProviderFeeTerms } from "./domain/fee-terms.js";
export { shanghaiBusinessDate, shanghaiDayBounds } from "./domain/business-date.js";
export { balancesAt, balancesNow, listAccountIds, takeCheckpoint } from "./adapters/db/pg-ledger.js";
export type { AccountBalance } from "./adapters/db/pg-ledger.js";
export { applyPaymentEvents } from "./adapters/kafka/payments-consumer.js";
export { applyOrderEvent } from "./adapters/kafka/orders-consumer.js";
export { ensurePlatformAccounts } from "./adapters/db/pg-ledger.js";
export { captureEntry } from "./domain/capture-entry.js";
export type { Capture } from "./domain/capture-entry.js";
export { startSettlementService } from "./settlement-service.js";
export type { RunningSettlementService, SettlementServiceConfig } from "./settlement-service.js";
export { exportDetailCsv, exportDetailJson, neutraliseFormula } from "./adapters/reports/export-report.js";
export type { ReportFilter } from "./adapters/reports/export-report.js";
export { closeBusinessDay } from "./app/close-business-day.js";
export { exportBatchSummaryCsv } from "./adapters/reports/batch-summary.js";
export { exportDetailXlsx } from "./adapters/reports/export-xlsx.js";
export { renderHtmlReport } from "./adapters/reports/html-report.js";
