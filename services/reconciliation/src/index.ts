/**
 * @tributary/reconciliation — per-provider bill parsers, the pure matching engine, and the worker
 * that fetches a provider's bill, matches it against our ledger records and reports. This file is
 * the whole public surface.
 */
export { describeRejection } from "./domain/bill.js";
export type { BillLocation, BillRejection, BillRejectionReason, BillRow, BillRowKind, BillRowStatus, ParsedBill } from "./domain/bill.js";
export { parseWechatTradeBill, wechatTradeBillRowBatches, wechatTradeBillRows, type WechatBillInput } from "./providers/wechat/wechat-bill-parser.js";
export { wechatTradeBillChunksOffThread, type WechatBillFileInput } from "./providers/wechat/wechat-bill-rows-off-thread.js";
export { parseAlipayTradeBill } from "./providers/alipay/alipay-bill-parser.js";
export { parseUnionpayFiles, parseUnionpaySettlement } from "./providers/unionpay/unionpay-zm-parser.js";
export { parseGenericBill } from "./providers/generic/generic-bill-parser.js";
export type { LedgerRecord, LedgerStatus } from "./domain/ledger-record.js";
export { DEFAULT_MATCH_CONFIG, MATCH_CLASSES, matchBill } from "./domain/match.js";
export { createStreamMatcher, type StreamMatchInput, type StreamMatcher } from "./domain/stream-match.js";
export { createSettlementLedgerRecords, type SettlementLedgerRecords, type SettlementLedgerRecordsOptions } from "./adapters/grpc/settlement-ledger-records.js";
export type { CarriedItem, Disposition, MatchClass, MatchConfig, MatchInput, MatchItem, MatchOutcome } from "./domain/match.js";
export { addDays, dayEndMs, daysBetween, shanghaiDay, shanghaiDayBounds } from "./domain/shanghai-calendar.js";
