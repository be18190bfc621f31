import type { FeeSchedule } from "@tributary/money";
import iconv from "iconv-lite";
import JSZip from "jszip";
import { yuan } from "../../core/amounts.js";
import type { BillDiscrepancy } from "../../core/bill-discrepancies.js";
import { collectBillEntries, type BillEntry } from "../../core/bill-entries.js";
import { formatShanghai, shanghaiDayBounds } from "../../core/shanghai-time.js";
import type { PaymentRecord } from "../../core/store.js";

/** The 25 columns of the Alipay trade detail file (业务明细), in order. */
export const ALIPAY_DETAIL_HEADER: readonly string[] = [
  "支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称", "操作员", "终端号",
  "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）", "商家优惠（元）",
  "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号", "服务费（元）", "分润（元）", "备注",
];

/** The columns of the summary file (业务明细(汇总)), our reading of the per-store summary. */
export const ALIPAY_SUMMARY_HEADER: readonly string[] = [
  "门店编号", "门店名称", "交易订单总笔数", "退款订单总笔数", "订单金额（元）", "商家实收（元）", "支付宝优惠（元）",
  "商家优惠（元）", "卡消费金额（元）", "服务费（元）", "分润（元）", "实收净额（元）",
];

const CRLF = "\r\n";
/**
 * The separator lines, dash counts as in real exports: 41 dashes before 业务明细列表 and 40
 * after it, 41 before 业务明细列表结束 and 36 after. Readers should match the marker text, not
 * the count. The summary file's counts are not known; it uses the same ones.
 */
function separator(marker: string, dashesAfter: number): string {
  return `#${"-".repeat(41)}${marker}${"-".repeat(dashesAfter)}`;
}

/** A generated Alipay bill: the archive and the names inside it. */
export interface AlipayBill {
  readonly fileName: string;
  readonly detailName: string;
  readonly summaryName: string;
  readonly zip: Buffer;
  /** The detail and summary text before GBK encoding (for diagnostics). */
  readonly detailText: string;
  readonly summaryText: string;
}

function chineseDate(ms: number): string {
  return formatShanghai(ms, "yyyy年MM月dd日 HH:mm:ss");
}

function detailRow(e: BillEntry): string[] {
  const payment = e.kind === "payment";
  const cells = [
    `${e.providerTradeNo}\t`,
    `${e.outTradeNo}\t`,
    payment ? (e.revoked ? "撤销" : "交易") : "退款",
    e.subject,
    formatShanghai(e.createdAtMs, "yyyy-MM-dd HH:mm:ss"),
    formatShanghai(e.atMs, "yyyy-MM-dd HH:mm:ss"),
    "", "", "", "",
    `${e.buyerId.slice(-8)}@sandbox.alipay`,
    // Real exports show a refund row's 订单金额 negative like its 商家实收: the refunded amount.
    yuan(payment ? e.orderAmountMinor : -e.amountMinor),
    yuan(payment ? e.amountMinor : -e.amountMinor),
    "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00",
    payment ? "" : `${e.outRefundNo ?? ""}\t`,
    // The merchant pays the service fee on a trade (negative) and gets its share back on a refund.
    yuan(payment ? -e.feeMinor : e.feeMinor),
    "0.00",
    "",
  ];
  return cells;
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * Writes Alipay's trade bill for one Asia/Shanghai day as the real archive looks: a zip named
 * `{account}_{yyyyMMdd}.csv.zip` holding `…_业务明细.csv` and `…_业务明细(汇总).csv`, both GBK,
 * entry names GBK with the UTF-8 flag unset, `#` header and footer lines with full-width
 * punctuation, id cells suffixed with a TAB, refund rows with negative 订单金额 and 商家实收.
 */
export async function writeAlipayTradeBill(input: {
  day: string;
  payments: readonly PaymentRecord[];
  /** The 20-digit account number printed in the header and the file names. */
  account: string;
  exportedAtMs: number;
  feeSchedule: FeeSchedule;
  discrepancies?: readonly BillDiscrepancy[];
}): Promise<AlipayBill> {
  const bounds = shanghaiDayBounds(input.day);
  if (bounds === undefined) throw new Error(`bad bill day ${input.day}`);
  const entries = collectBillEntries(input.payments, input.day, input.discrepancies ?? []);
  const compact = input.day.replaceAll("-", "");
  const period = `#起始日期：[${chineseDate(bounds.startMs)}]   终止日期：[${chineseDate(bounds.endMs)}]`;

  const trades = entries.filter((e) => e.kind === "payment");
  const refunds = entries.filter((e) => e.kind === "refund");
  const tradeReceived = trades.reduce((s, e) => s + e.amountMinor, 0n);
  const refundReceived = refunds.reduce((s, e) => s - e.amountMinor, 0n);

  const detailLines = [
    "#支付宝业务明细查询",
    `#账号：[${input.account}]`,
    period,
    separator("业务明细列表", 40),
    ALIPAY_DETAIL_HEADER.join(","),
    ...entries.map((e) => detailRow(e).map(csvCell).join(",")),
    separator("业务明细列表结束", 36),
    `#交易合计：${trades.length}笔，商家实收共${yuan(tradeReceived)}元，商家优惠共0.00元`,
    `#退款合计：${refunds.length}笔，商家实收退款共${yuan(refundReceived)}元，商家优惠退款共0.00元`,
    `#导出时间：[${chineseDate(input.exportedAtMs)}]`,
  ];

  const orderTotal = entries.reduce((s, e) => s + (e.kind === "payment" ? e.orderAmountMinor : 0n), 0n);
  const received = tradeReceived + refundReceived;
  const fees = entries.reduce((s, e) => s + (e.kind === "payment" ? -e.feeMinor : e.feeMinor), 0n);
  const summaryValues = (store: string, name: string): string[] => [
    store, name, String(trades.length), String(refunds.length), yuan(orderTotal), yuan(received),
    "0.00", "0.00", "0.00", yuan(fees), "0.00", yuan(received + fees),
  ];
  const summaryLines = [
    "#支付宝业务汇总查询",
    `#账号：[${input.account}]`,
    period,
    separator("业务汇总列表", 40),
    ALIPAY_SUMMARY_HEADER.join(","),
    summaryValues("", "").join(","),
    summaryValues("合计", "").join(","),
    separator("业务汇总列表结束", 36),
    `#导出时间：[${chineseDate(input.exportedAtMs)}]`,
  ];

  const detailText = detailLines.join(CRLF) + CRLF;
  const summaryText = summaryLines.join(CRLF) + CRLF;
  const detailName = `${input.account}_${compact}_业务明细.csv`;
  const summaryName = `${input.account}_${compact}_业务明细(汇总).csv`;

  const zip = new JSZip();
  const date = new Date(input.exportedAtMs);
  zip.file(detailName, iconv.encode(detailText, "gbk"), { date });
  zip.file(summaryName, iconv.encode(summaryText, "gbk"), { date });
  const archive = await zip.generateAsync({
    type: "nodebuffer",
    compression: "DEFLATE",
    // A custom encoder makes JSZip leave the UTF-8 flag (bit 11) unset, as Alipay's archives do.
    encodeFileName: (name: string) => iconv.encode(name, "gbk").toString("latin1"),
  });
  return { fileName: `${input.account}_${compact}.csv.zip`, detailName, summaryName, zip: archive, detailText, summaryText };
}
