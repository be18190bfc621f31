import { parseCurrencyCode } from "@tributary/money";
import type { Result } from "@tributary/result";
import type { BillRejection, BillRow, BillRowStatus, ParsedBill } from "../../domain/bill.js";
import {
  BillFormatError,
  columnIndex,
  csvRecords,
  rejectOnFormatError,
  requireWithinDay,
  scaledFenCell,
  shanghaiDayBounds,
  shanghaiTimeCell,
  yuanCell,
  type BillBytes,
  type CellAt,
} from "../bill-reader.js";

/**
 * Summary columns and the detail column each one totals (current and legacy names). The fee
 * total has five decimals like the fee column; the others are yuan with two.
 */
const SUMMARY_SOURCES: Readonly<Record<string, { readonly column: string; readonly scale: 2 | 5 }>> = {
  应结订单总金额: { column: "应结订单金额", scale: 2 },
  总交易额: { column: "总金额", scale: 2 },
  退款总金额: { column: "退款金额", scale: 2 },
  总退款金额: { column: "退款金额", scale: 2 },
  充值券退款总金额: { column: "充值券退款金额", scale: 2 },
  总代金券或立减优惠退款金额: { column: "代金券或立减优惠退款金额", scale: 2 },
  手续费总金额: { column: "手续费", scale: 5 },
  订单总金额: { column: "订单金额", scale: 2 },
  申请退款总金额: { column: "申请退款金额", scale: 2 },
};

const REQUIRED = ["交易时间", "微信订单号", "商户订单号", "交易状态", "货币种类", "手续费"] as const;
const REFUND_COLUMNS = ["微信退款单号", "商户退款单号", "退款金额", "退款状态"] as const;

function refundStatus(text: string): BillRowStatus {
  switch (text) {
    case "SUCCESS":
      return "refund_succeeded";
    case "PROCESSING":
      return "refund_processing";
    default:
      return "unknown_provider_status";
  }
}

/**
 * Parses a WeChat Pay trade bill (交易账单) of any type (ALL / SUCCESS / REFUND) in the current or
 * the legacy column set, streaming: a plain detail header, data rows whose every cell starts with
 * a backtick, a summary header and one backtick summary row, CRLF. Columns are found by header
 * name. Amounts are yuan, parsed exactly; the fee has five decimals. The summary must equal the
 * sums of the rows, every row must lie inside `billDate` (Asia/Shanghai), and anything after the
 * summary row refuses the bill. WeChat bills have no quoting, so a `"` is text.
 */
export async function parseWechatTradeBill(input: {
  readonly bytes: BillBytes;
  readonly file: string;
  readonly billDate: string;
}): Promise<Result<ParsedBill, BillRejection>> {
  return rejectOnFormatError(async () => {
    const { file, billDate } = input;
    const bounds = shanghaiDayBounds(billDate);
    if (bounds === undefined) throw new RangeError(`parseWechatTradeBill: bad bill date ${billDate}`);
    let header: readonly string[] | undefined;
    let index: ReadonlyMap<string, number> = new Map();
    let summaryHeader: readonly string[] | undefined;
    let summary: { cells: readonly string[]; line: number } | undefined;
    let lastLine = 0;
    const rows: BillRow[] = [];
    const sums = new Map<string, bigint>();
    const summed: { column: string; at: number; scale: 2 | 5 }[] = [];

    for await (const record of csvRecords(input.bytes, { file, encoding: "utf8", quote: false })) {
      lastLine = record.line;
      const at = (column: number, field?: string): CellAt => ({ file, line: record.line, column, field });
      if (header === undefined) {
        header = record.cells.map((c) => c.trim());
        index = columnIndex(header);
        for (const name of REQUIRED) {
          if (!index.has(name)) throw new BillFormatError("bad_header", file, record.line, 0, name, `the detail header has no ${name} column`);
        }
        if (!index.has("应结订单金额") && !index.has("总金额")) throw new BillFormatError("bad_header", file, record.line, 0, "应结订单金额", "the detail header has neither 应结订单金额 nor 总金额");
        for (const source of Object.values(SUMMARY_SOURCES)) {
          const position = index.get(source.column);
          if (position !== undefined && !summed.some((s) => s.column === source.column)) summed.push({ column: source.column, at: position, scale: source.scale });
        }
        continue;
      }
      if (summary !== undefined) throw new BillFormatError("bad_row", file, record.line, 1, undefined, "a line after the summary row");
      const first = record.cells[0] ?? "";
      if (summaryHeader === undefined && !first.startsWith("`")) {
        summaryHeader = record.cells.map((c) => c.trim());
        if (!summaryHeader.includes("总交易单数")) throw new BillFormatError("bad_header", file, record.line, 1, "总交易单数", "a line without backticks that is not the summary header");
        continue;
      }
      const cells = record.cells.map((cell, i) => {
        if (!cell.startsWith("`")) throw new BillFormatError("bad_row", file, record.line, i + 1, (summaryHeader ?? header)?.[i], "a data cell without its backtick");
        return cell.slice(1);
      });
      if (summaryHeader !== undefined) {
        if (cells.length !== summaryHeader.length) throw new BillFormatError("bad_row", file, record.line, 0, undefined, `the summary row has ${cells.length} cells, its header ${summaryHeader.length}`);
        summary = { cells, line: record.line };
        continue;
      }
      if (cells.length !== header.length) {
        throw new BillFormatError("bad_row", file, record.line, Math.min(cells.length, header.length), undefined, `${cells.length} cells where the header has ${header.length}`);
      }
      for (const s of summed) {
        const text = cells[s.at] ?? "";
        const value = s.scale === 5 ? scaledFenCell(text, 5, at(s.at + 1, s.column)) : yuanCell(text, at(s.at + 1, s.column));
        sums.set(s.column, (sums.get(s.column) ?? 0n) + value);
      }
      rows.push(rowOf(cells, index, at, bounds, billDate, file, record.line));
    }

    if (header === undefined) throw new BillFormatError("truncated", file, 1, 0, undefined, "the bill is empty");
    if (summaryHeader === undefined || summary === undefined) throw new BillFormatError("truncated", file, lastLine, 0, undefined, "the bill ends before its summary row");
    checkSummary(summaryHeader, summary, rows.length, sums, file);
    return { provider: "wechat_pay", billDate, files: [file], rows };
  });
}

function rowOf(
  cells: readonly string[],
  index: ReadonlyMap<string, number>,
  at: (column: number, field?: string) => CellAt,
  bounds: { startMs: number; endMs: number },
  billDate: string,
  file: string,
  line: number,
): BillRow {
  const cell = (name: string): string => cells[index.get(name) ?? -1] ?? "";
  const atName = (name: string): CellAt => at((index.get(name) ?? -1) + 1, name);
  const bookedAtMs = shanghaiTimeCell(cell("交易时间"), atName("交易时间"));
  requireWithinDay(bookedAtMs, bounds, billDate, atName("交易时间"));
  const currency = parseCurrencyCode(cell("货币种类"));
  if (!currency.ok) throw new BillFormatError("bad_row", file, line, (index.get("货币种类") ?? 0) + 1, "货币种类", `unknown currency ${JSON.stringify(cell("货币种类"))}`);
  const feeMinor = scaledFenCell(cell("手续费"), 5, atName("手续费"));
  const tradeState = cell("交易状态");
  const base = {
    location: { file, line },
    providerTxnId: cell("微信订单号"),
    merchantOrderRef: cell("商户订单号"),
    currency: currency.value,
    feeMinor,
    bookedAtMs,
  };
  if (tradeState === "REFUND") {
    for (const name of REFUND_COLUMNS) {
      if (!index.has(name)) throw new BillFormatError("bad_row", file, line, (index.get("交易状态") ?? 0) + 1, "交易状态", `a refund row in a bill without the ${name} column`);
    }
    const refunded = yuanCell(cell("退款金额"), atName("退款金额"));
    return {
      ...base,
      kind: "refund",
      providerRefundId: cell("微信退款单号"),
      merchantRefundRef: cell("商户退款单号"),
      amountMinor: -refunded,
      status: refundStatus(cell("退款状态")),
      providerStatus: `REFUND/${cell("退款状态")}`,
    };
  }
  const amountColumn = index.has("应结订单金额") ? "应结订单金额" : "总金额";
  const status: BillRowStatus = tradeState === "SUCCESS" ? "succeeded" : tradeState === "REVOKED" ? "revoked" : "unknown_provider_status";
  return {
    ...base,
    kind: "payment",
    providerRefundId: "",
    merchantRefundRef: "",
    amountMinor: yuanCell(cell(amountColumn), atName(amountColumn)),
    status,
    providerStatus: tradeState,
  };
}

function checkSummary(
  summaryHeader: readonly string[],
  summary: { cells: readonly string[]; line: number },
  rowCount: number,
  sums: ReadonlyMap<string, bigint>,
  file: string,
): void {
  let checkedAmounts = 0;
  summaryHeader.forEach((name, i) => {
    const text = summary.cells[i] ?? "";
    const at: CellAt = { file, line: summary.line, column: i + 1, field: name };
    if (name === "总交易单数") {
      if (text !== String(rowCount)) throw new BillFormatError("totals_mismatch", file, summary.line, i + 1, name, `the summary says ${text} rows, the bill has ${rowCount}`);
      return;
    }
    const source = SUMMARY_SOURCES[name];
    if (source === undefined) return; // a summary column we have no rule for is not checked
    // A bill without the column (a SUCCESS bill has no refund columns) holds none of it: the
    // stated total must then be zero, which is still a check.
    const sum = sums.get(source.column) ?? 0n;
    const stated = source.scale === 5 ? scaledFenCell(text, 5, at) : yuanCell(text, at);
    if (stated !== sum) throw new BillFormatError("totals_mismatch", file, summary.line, i + 1, name, `the summary says ${text}, the rows add up to ${sum} fen`);
    checkedAmounts++;
  });
  if (checkedAmounts === 0) throw new BillFormatError("totals_mismatch", file, summary.line, 0, undefined, "the summary has no amount total to check");
}
