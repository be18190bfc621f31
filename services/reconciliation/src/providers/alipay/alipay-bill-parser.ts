import type { Result } from "@tributary/result";
import type { BillRejection, BillRow, BillRowStatus, ParsedBill } from "../../domain/bill.js";
import {
  BillFormatError,
  columnIndex,
  csvRecords,
  rejectOnFormatError,
  requireWithinDay,
  shanghaiDayBounds,
  shanghaiTimeCell,
  yuanCell,
  type CellAt,
  type ProgressListener,
} from "../bill-reader.js";
import { openArchive } from "../zip-archive.js";

/** Separator lines are found by their marker text, never by the number of dashes around it. */
const LIST_START = /^#-+业务明细列表-+$/;
const LIST_END = /^#-+业务明细列表结束-+$/;
// Footer totals use full-width punctuation (：，); half-width is accepted too.
const TRADE_TOTAL = /^#交易合计[：:](\d+)笔[，,]商家实收共(-?\d+(?:\.\d+)?)元/;
const REFUND_TOTAL = /^#退款合计[：:](\d+)笔[，,]商家实收退款共(-?\d+(?:\.\d+)?)元/;
const PERIOD = /^#起始日期[：:]\[(\d{4})年(\d{2})月(\d{2})日 (\d{2}:\d{2}:\d{2})\]\s*终止日期[：:]\[(\d{4})年(\d{2})月(\d{2})日 (\d{2}:\d{2}:\d{2})\]/;

const REQUIRED = ["支付宝交易号", "商户订单号", "业务类型", "完成时间", "订单金额（元）", "商家实收（元）", "退款批次号/请求号", "服务费（元）"] as const;

/** Alipay marks id-like cells with a trailing TAB so Excel keeps them as text. */
function clean(cell: string): string {
  return cell.replace(/\t+$/, "").trim();
}

function statusOf(businessType: string): { kind: "payment" | "refund"; status: BillRowStatus } {
  switch (businessType) {
    case "交易":
      return { kind: "payment", status: "succeeded" };
    case "退款":
      return { kind: "refund", status: "refund_succeeded" };
    case "撤销":
      return { kind: "payment", status: "revoked" };
    default:
      return { kind: "payment", status: "unknown_provider_status" };
  }
}

/**
 * Parses Alipay's trade bill archive (`{account}_{yyyyMMdd}.csv.zip`): finds the GBK
 * `…_业务明细.csv` entry (entry names are GBK), reads its `#` header lines (the period must be the
 * bill's day), the 25-column header mapped by name, the rows (TAB-suffixed ids, refunds with
 * negative 订单金额 and 商家实收, the service fee negative on trades), and the footer totals, which
 * must equal the rows: count and 商家实收 of trades and of refunds.
 */
export async function parseAlipayTradeBill(input: {
  readonly bytes: Uint8Array;
  readonly file: string;
  readonly billDate: string;
  readonly onProgress?: ProgressListener;
}): Promise<Result<ParsedBill, BillRejection>> {
  return rejectOnFormatError(async () => {
    const bounds = shanghaiDayBounds(input.billDate);
    if (bounds === undefined) throw new RangeError(`parseAlipayTradeBill: bad bill date ${input.billDate}`);
    const entries = await openArchive(input.bytes, input.file);
    const detail = entries.find((e) => /_业务明细\.csv$/.test(e.name));
    if (detail === undefined) {
      throw new BillFormatError("bad_archive", input.file, 0, 0, undefined, `no …_业务明细.csv entry (found ${entries.map((e) => e.name).join(", ") || "none"})`);
    }
    const file = detail.name;
    let phase: "preamble" | "header" | "rows" | "footer" = "preamble";
    let index: ReadonlyMap<string, number> = new Map();
    let headerLength = 0;
    let periodSeen = false;
    let lastLine = 0;
    const rows: BillRow[] = [];
    const totals = { trades: 0, tradeReceived: 0n, refunds: 0, refundReceived: 0n };
    let tradeFooter: { count: number; received: bigint; line: number } | undefined;
    let refundFooter: { count: number; received: bigint; line: number } | undefined;

    for await (const record of csvRecords(detail.bytes, { file, encoding: "gbk", quote: true, onProgress: input.onProgress })) {
      lastLine = record.line;
      const first = record.cells[0] ?? "";
      const hashLine = first.startsWith("#") ? record.cells.join(",").trimEnd() : undefined;
      if (phase === "preamble") {
        if (hashLine === undefined) throw new BillFormatError("bad_header", file, record.line, 1, undefined, "a line before 业务明细列表 that is not a # line");
        const period = PERIOD.exec(hashLine);
        if (period !== null) {
          const start = `${period[1]}-${period[2]}-${period[3]}`;
          if (start !== input.billDate || period[4] !== "00:00:00") {
            throw new BillFormatError("outside_bill_day", file, record.line, 1, "起始日期", `the bill covers ${start} ${period[4]}, not ${input.billDate}`);
          }
          periodSeen = true;
        }
        if (LIST_START.test(hashLine)) phase = "header";
        continue;
      }
      if (phase === "header") {
        const header = record.cells.map(clean);
        index = columnIndex(header);
        headerLength = header.length;
        for (const name of REQUIRED) {
          if (!index.has(name)) throw new BillFormatError("bad_header", file, record.line, 0, name, `the header has no ${name} column`);
        }
        phase = "rows";
        continue;
      }
      if (phase === "rows") {
        if (hashLine !== undefined) {
          if (!LIST_END.test(hashLine)) throw new BillFormatError("bad_row", file, record.line, 1, undefined, "a # line inside the detail list");
          phase = "footer";
          continue;
        }
        if (record.cells.length !== headerLength) {
          throw new BillFormatError("bad_row", file, record.line, Math.min(record.cells.length, headerLength), undefined, `${record.cells.length} cells where the header has ${headerLength}`);
        }
        const row = rowOf(record.cells.map(clean), index, file, record.line, bounds, input.billDate);
        rows.push(row);
        const received = yuanCell(clean(record.cells[index.get("商家实收（元）") ?? 0] ?? ""), { file, line: record.line, column: (index.get("商家实收（元）") ?? 0) + 1, field: "商家实收（元）" });
        if (row.kind === "refund") {
          totals.refunds++;
          totals.refundReceived += received;
        } else {
          totals.trades++;
          totals.tradeReceived += received;
        }
        continue;
      }
      if (hashLine === undefined) throw new BillFormatError("bad_row", file, record.line, 1, undefined, "a data line after 业务明细列表结束");
      const trade = TRADE_TOTAL.exec(hashLine);
      const refund = REFUND_TOTAL.exec(hashLine);
      const at: CellAt = { file, line: record.line, column: 1, field: undefined };
      if (trade !== null) tradeFooter = { count: Number(trade[1]), received: yuanCell(trade[2] ?? "", at), line: record.line };
      if (refund !== null) refundFooter = { count: Number(refund[1]), received: yuanCell(refund[2] ?? "", at), line: record.line };
    }

    if (phase !== "footer") throw new BillFormatError("truncated", file, lastLine, 0, undefined, phase === "rows" ? "the bill ends before 业务明细列表结束" : "the bill ends before its detail list");
    if (!periodSeen) throw new BillFormatError("bad_header", file, 3, 0, "起始日期", "no #起始日期 line naming the bill's period");
    if (tradeFooter === undefined || refundFooter === undefined) throw new BillFormatError("truncated", file, lastLine, 0, undefined, "the bill ends before its #交易合计 and #退款合计 lines");
    checkFooter(file, tradeFooter, totals.trades, totals.tradeReceived, "交易合计");
    checkFooter(file, refundFooter, totals.refunds, totals.refundReceived, "退款合计");
    return { provider: "alipay", billDate: input.billDate, files: [file], rows };
  });
}

function checkFooter(file: string, footer: { count: number; received: bigint; line: number }, count: number, received: bigint, what: string): void {
  if (footer.count !== count) throw new BillFormatError("totals_mismatch", file, footer.line, 1, what, `#${what} says ${footer.count} rows, the bill has ${count}`);
  if (footer.received !== received) throw new BillFormatError("totals_mismatch", file, footer.line, 1, what, `#${what} says 商家实收 ${footer.received} fen, the rows add up to ${received}`);
}

function rowOf(
  cells: readonly string[],
  index: ReadonlyMap<string, number>,
  file: string,
  line: number,
  bounds: { startMs: number; endMs: number },
  billDate: string,
): BillRow {
  const cell = (name: string): string => cells[index.get(name) ?? -1] ?? "";
  const at = (name: string): CellAt => ({ file, line, column: (index.get(name) ?? -1) + 1, field: name });
  const bookedAtMs = shanghaiTimeCell(cell("完成时间"), at("完成时间"));
  requireWithinDay(bookedAtMs, bounds, billDate, at("完成时间"));
  const { kind, status } = statusOf(cell("业务类型"));
  const amountMinor = yuanCell(cell("订单金额（元）"), at("订单金额（元）"));
  if (kind === "refund" ? amountMinor > 0n : amountMinor < 0n) {
    throw new BillFormatError("bad_amount", file, line, at("订单金额（元）").column, "订单金额（元）", `a ${cell("业务类型")} row with ${kind === "refund" ? "a positive" : "a negative"} amount`);
  }
  // 服务费 is what the merchant pays (negative on a trade) or gets back (positive on a refund).
  const feeMinor = -yuanCell(cell("服务费（元）"), at("服务费（元）"));
  return {
    location: { file, line },
    kind,
    providerTxnId: cell("支付宝交易号"),
    merchantOrderRef: cell("商户订单号"),
    providerRefundId: "",
    merchantRefundRef: kind === "refund" ? cell("退款批次号/请求号") : "",
    amountMinor,
    feeMinor,
    currency: "CNY",
    status,
    providerStatus: cell("业务类型"),
    bookedAtMs,
  };
}
