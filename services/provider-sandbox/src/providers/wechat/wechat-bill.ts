import { formatRatePercent, type FeeSchedule } from "@tributary/money";
import { yuan, yuanWithDigits } from "../../core/amounts.js";
import type { BillDiscrepancy } from "../../core/bill-discrepancies.js";
import { collectBillEntries, type BillEntry } from "../../core/bill-entries.js";
import { formatShanghai } from "../../core/shanghai-time.js";
import type { PaymentRecord } from "../../core/store.js";

/** Which rows a trade bill holds. */
export type WechatBillType = "ALL" | "SUCCESS" | "REFUND";

/** The current column set (免充值券 settlement) or the legacy one older merchants still get. */
export type WechatBillColumns = "current" | "legacy";

const CURRENT_ALL = [
  "交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识", "交易类型", "交易状态",
  "付款银行", "货币种类", "应结订单金额", "代金券金额", "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额",
  "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注",
];
const LEGACY_ALL = [
  "交易时间", "公众账号ID", "商户号", "子商户号", "设备号", "微信订单号", "商户订单号", "用户标识", "交易类型", "交易状态",
  "付款银行", "货币种类", "总金额", "代金券或立减优惠金额", "微信退款单号", "商户退款单号", "退款金额",
  "代金券或立减优惠退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率",
];
const REFUND_ONLY = new Set(["微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "申请退款金额", "代金券或立减优惠退款金额"]);

/** The detail header of a bill of `type` in `columns`. */
export function wechatDetailHeader(type: WechatBillType, columns: WechatBillColumns): string[] {
  const all = columns === "current" ? CURRENT_ALL : LEGACY_ALL;
  if (type === "SUCCESS") return all.filter((c) => !REFUND_ONLY.has(c));
  if (type === "REFUND") {
    const coupon = columns === "current" ? "代金券金额" : "代金券或立减优惠金额";
    const at = all.indexOf(coupon) + 1;
    return [...all.slice(0, at), "退款申请时间", "退款成功时间", ...all.slice(at)];
  }
  return [...all];
}

/** The summary header of a bill of `type` in `columns`. */
export function wechatSummaryHeader(type: WechatBillType, columns: WechatBillColumns): string[] {
  if (columns === "legacy") return ["总交易单数", "总交易额", "总退款金额", "总代金券或立减优惠退款金额", "手续费总金额"];
  if (type === "SUCCESS") return ["总交易单数", "应结订单总金额", "手续费总金额", "订单总金额"];
  return ["总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额"];
}

const time = (ms: number | undefined): string => (ms === undefined ? "" : formatShanghai(ms, "yyyy-MM-dd HH:mm:ss"));
// Free text cannot carry the separator: WeChat bills have no quoting.
const text = (value: string | undefined): string => (value ?? "").replaceAll(",", "，").replaceAll(/[\r\n]/g, " ");

function cellsOf(e: BillEntry, mchid: string, appid: string, rate: string): Record<string, string> {
  const payment = e.kind === "payment";
  const settled = payment ? yuan(e.amountMinor) : "0.00";
  const refundAmount = payment ? "0.00" : yuan(e.amountMinor);
  return {
    交易时间: time(e.atMs),
    公众账号ID: appid,
    商户号: mchid,
    特约商户号: "0",
    子商户号: "0",
    设备号: "",
    微信订单号: e.providerTradeNo,
    商户订单号: e.outTradeNo,
    用户标识: e.buyerId,
    交易类型: e.tradeType,
    交易状态: payment ? (e.revoked ? "REVOKED" : "SUCCESS") : "REFUND",
    付款银行: e.bankType,
    货币种类: "CNY",
    应结订单金额: settled,
    总金额: settled,
    代金券金额: "0.00",
    代金券或立减优惠金额: "0.00",
    退款申请时间: payment ? "" : time(e.atMs),
    退款成功时间: payment ? "" : time(e.refundSuccessAtMs),
    微信退款单号: payment ? "0" : (e.providerRefundNo ?? ""),
    商户退款单号: payment ? "0" : (e.outRefundNo ?? ""),
    退款金额: refundAmount,
    充值券退款金额: "0.00",
    代金券或立减优惠退款金额: "0.00",
    退款类型: payment ? "" : "ORIGINAL",
    退款状态: payment ? "" : e.refundStatus === "success" ? "SUCCESS" : "PROCESSING",
    商品名称: text(e.subject),
    商户数据包: text(e.attach),
    // The fee has five decimals; a refund gives its share back as a negative fee.
    手续费: yuanWithDigits(payment ? e.feeMinor : -e.feeMinor, 5),
    费率: rate,
    订单金额: settled,
    申请退款金额: refundAmount,
    费率备注: "",
  };
}

/**
 * Writes a WeChat Pay trade bill for one Asia/Shanghai day: the plain detail header, detail rows
 * with every cell prefixed by a backtick, the summary header and a backtick-prefixed summary row,
 * CRLF line ends, amounts in yuan, fees with five decimals and the rate as `0.60%`. Payment rows
 * are dated by success time, refund rows by acceptance time with their status at the cut-off.
 */
export function writeWechatTradeBill(input: {
  day: string;
  billType: WechatBillType;
  columns: WechatBillColumns;
  payments: readonly PaymentRecord[];
  mchid: string;
  appid: string;
  feeSchedule: FeeSchedule;
  discrepancies?: readonly BillDiscrepancy[];
}): string {
  const rate = formatRatePercent(input.feeSchedule.ratePpm);
  const entries = collectBillEntries(input.payments, input.day, input.discrepancies ?? []).filter((e) =>
    input.billType === "ALL" ? true : input.billType === "SUCCESS" ? e.kind === "payment" : e.kind === "refund",
  );
  const detailHeader = wechatDetailHeader(input.billType, input.columns);
  const rows = entries.map((e) => {
    const cells = cellsOf(e, input.mchid, input.appid, rate);
    return detailHeader.map((column) => `\`${cells[column] ?? ""}`).join(",");
  });

  const sum = (pick: (e: BillEntry) => bigint): bigint => entries.reduce((s, e) => s + pick(e), 0n);
  const settledTotal = sum((e) => (e.kind === "payment" ? e.amountMinor : 0n));
  const refundTotal = sum((e) => (e.kind === "refund" ? e.amountMinor : 0n));
  const feeTotal = sum((e) => (e.kind === "payment" ? e.feeMinor : -e.feeMinor));
  const summaryValues: Record<string, string> = {
    总交易单数: String(entries.length),
    应结订单总金额: yuan(settledTotal),
    总交易额: yuan(settledTotal),
    退款总金额: yuan(refundTotal),
    总退款金额: yuan(refundTotal),
    充值券退款总金额: "0.00",
    总代金券或立减优惠退款金额: "0.00",
    手续费总金额: yuanWithDigits(feeTotal, 5),
    订单总金额: yuan(settledTotal),
    申请退款总金额: yuan(refundTotal),
  };
  const summaryHeader = wechatSummaryHeader(input.billType, input.columns);
  const lines = [
    detailHeader.join(","),
    ...rows,
    summaryHeader.join(","),
    summaryHeader.map((column) => `\`${summaryValues[column] ?? ""}`).join(","),
  ];
  return lines.join("\r\n") + "\r\n";
}
