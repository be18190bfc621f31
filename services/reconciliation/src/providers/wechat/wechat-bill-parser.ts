import { parseCurrencyCode, type CurrencyCode } from "@tributary/money";
import type { Result } from "@tributary/result";
import type { BillRejection, BillRow, BillRowStatus, ParsedBill } from "../../domain/bill.js";
import {
  BillFormatError,
  columnIndex,
  rejectOnFormatError,
  requireWithinDay,
  scaledFenAt,
  scaledFenCell,
  shanghaiDayBounds,
  shanghaiTimeCell,
  unquotedCsvRecordBatches,
  yuanAt,
  yuanCell,
  type BillBytes,
  type ProgressListener,
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
const BACKTICK = 0x60;

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

/** Where each column we read sits in this bill's header (-1: absent). */
interface Columns {
  readonly time: number;
  readonly txn: number;
  readonly order: number;
  readonly state: number;
  readonly currency: number;
  readonly fee: number;
  readonly amount: number;
  readonly amountName: string;
  readonly refundTxn: number;
  readonly refundRef: number;
  readonly refundAmount: number;
  readonly refundState: number;
  /** Detail columns a summary total adds up, with their scale. */
  readonly summed: readonly { readonly column: string; readonly at: number; readonly scale: 2 | 5 }[];
}

function columnsOf(header: readonly string[], file: string, line: number): Columns {
  const index = columnIndex(header);
  for (const name of REQUIRED) {
    if (!index.has(name)) throw new BillFormatError("bad_header", file, line, 0, name, `the detail header has no ${name} column`);
  }
  const amountName = index.has("应结订单金额") ? "应结订单金额" : "总金额";
  if (!index.has(amountName)) throw new BillFormatError("bad_header", file, line, 0, "应结订单金额", "the detail header has neither 应结订单金额 nor 总金额");
  const at = (name: string): number => index.get(name) ?? -1;
  const summed: { column: string; at: number; scale: 2 | 5 }[] = [];
  for (const source of Object.values(SUMMARY_SOURCES)) {
    const position = index.get(source.column);
    if (position !== undefined && !summed.some((s) => s.column === source.column)) summed.push({ column: source.column, at: position, scale: source.scale });
  }
  return {
    time: at("交易时间"), txn: at("微信订单号"), order: at("商户订单号"), state: at("交易状态"), currency: at("货币种类"), fee: at("手续费"),
    amount: at(amountName), amountName, refundTxn: at("微信退款单号"), refundRef: at("商户退款单号"), refundAmount: at("退款金额"), refundState: at("退款状态"),
    summed,
  };
}

/**
 * Parses a WeChat Pay trade bill (交易账单) of any type (ALL / SUCCESS / REFUND) in the current or
 * the legacy column set, streaming: a plain detail header, data rows whose every cell starts with
 * a backtick, a summary header and one backtick summary row, CRLF. Columns are found by header
 * name. Amounts are yuan, parsed exactly; the fee has five decimals. The summary must equal the
 * sums of the rows, every row must lie inside `billDate` (Asia/Shanghai), and anything after the
 * summary row refuses the bill. WeChat bills have no quoting, so a `"` is text.
 */
export async function parseWechatTradeBill(input: WechatBillInput): Promise<Result<ParsedBill, BillRejection>> {
  return rejectOnFormatError(async () => {
    const rows: BillRow[] = [];
    const rowsOut = wechatTradeBillRows(input);
    for (;;) {
      const next = await rowsOut.next();
      if (next.done === true) break;
      rows.push(next.value);
    }
    return { provider: "wechat_pay", billDate: input.billDate, files: [input.file], rows };
  });
}

/** What {@link wechatTradeBillRows} reads. */
export interface WechatBillInput {
  readonly bytes: BillBytes;
  readonly file: string;
  readonly billDate: string;
  readonly onProgress?: ProgressListener;
}

/**
 * The rows of a WeChat trade bill as they are read, for a consumer that does not hold the bill
 * (the streaming match): the same checks as {@link parseWechatTradeBill}, which collects it. A
 * fault throws `BillFormatError` (file, line, column) — the summary totals only at the very end,
 * so **a consumer must not apply anything before the generator has returned**; the return value
 * is the row count the summary confirmed.
 */
export async function* wechatTradeBillRows(input: WechatBillInput): AsyncGenerator<BillRow, number, undefined> {
  const batches = wechatTradeBillRowBatches(input);
  for (;;) {
    const next = await batches.next();
    if (next.done === true) return next.value;
    yield* next.value;
  }
}

/**
 * {@link wechatTradeBillRows} a batch at a time (the rows of one decoded piece of the file, a few
 * hundred), for a consumer that takes many rows per await; the same rows, checks and return value.
 */
export async function* wechatTradeBillRowBatches(input: WechatBillInput): AsyncGenerator<BillRow[], number, undefined> {
  const reader = new WechatBillReader(input.file, input.billDate);
  for await (const records of unquotedCsvRecordBatches(input.bytes, { file: input.file, encoding: "utf8", onProgress: input.onProgress })) {
    const rows: BillRow[] = [];
    for (const record of records) {
      const row = reader.accept(record.cells, record.line);
      if (row !== undefined) rows.push(row);
    }
    if (rows.length > 0) yield rows;
  }
  return reader.finish();
}

/** The state of one bill being read record by record: header, summary, sums. */
class WechatBillReader {
  private header: readonly string[] | undefined;
  private columns: Columns | undefined;
  private summaryHeader: readonly string[] | undefined;
  private summary: { cells: readonly string[]; line: number } | undefined;
  private lastLine = 0;
  private rowCount = 0;
  private sums: bigint[] = [];
  private values: bigint[] = [];
  private readonly currencies = new Map<string, CurrencyCode>();
  private readonly day: { readonly text: string; readonly startMs: number; readonly endMs: number };

  constructor(
    private readonly file: string,
    billDate: string,
  ) {
    const bounds = shanghaiDayBounds(billDate);
    if (bounds === undefined) throw new RangeError(`parseWechatTradeBill: bad bill date ${billDate}`);
    this.day = { text: billDate, startMs: bounds.startMs, endMs: bounds.endMs };
  }

  /** One record: its row, or undefined for a header or the summary. Throws at the first fault. */
  accept(cells: readonly string[], line: number): BillRow | undefined {
    const { file } = this;
    this.lastLine = line;
    const { header, columns } = this;
    if (header === undefined || columns === undefined) {
      this.header = cells.map((c) => c.trim());
      this.columns = columnsOf(this.header, file, line);
      this.sums = this.columns.summed.map(() => 0n);
      this.values = this.columns.summed.map(() => 0n);
      return undefined;
    }
    if (this.summary !== undefined) throw new BillFormatError("bad_row", file, line, 1, undefined, "a line after the summary row");
    if (this.summaryHeader === undefined && (cells[0] ?? "").charCodeAt(0) !== BACKTICK) {
      this.summaryHeader = cells.map((c) => c.trim());
      if (!this.summaryHeader.includes("总交易单数")) throw new BillFormatError("bad_header", file, line, 1, "总交易单数", "a line without backticks that is not the summary header");
      return undefined;
    }
    for (let i = 0; i < cells.length; i++) {
      if ((cells[i] ?? "").charCodeAt(0) !== BACKTICK) throw new BillFormatError("bad_row", file, line, i + 1, (this.summaryHeader ?? header)[i], "a data cell without its backtick");
    }
    if (this.summaryHeader !== undefined) {
      if (cells.length !== this.summaryHeader.length) throw new BillFormatError("bad_row", file, line, 0, undefined, `the summary row has ${cells.length} cells, its header ${this.summaryHeader.length}`);
      this.summary = { cells: cells.map((c) => c.slice(1)), line };
      return undefined;
    }
    if (cells.length !== header.length) {
      throw new BillFormatError("bad_row", file, line, Math.min(cells.length, header.length), undefined, `${cells.length} cells where the header has ${header.length}`);
    }
    const { summed } = columns;
    const { sums, values } = this;
    for (let s = 0; s < summed.length; s++) {
      const source = summed[s] as Columns["summed"][number];
      const text = (cells[source.at] ?? "").slice(1);
      const value = source.scale === 5 ? scaledFenAt(text, 5, file, line, source.at + 1, source.column) : yuanAt(text, file, line, source.at + 1, source.column);
      values[s] = value;
      sums[s] = (sums[s] ?? 0n) + value;
    }
    this.rowCount++;
    return rowOf(cells, columns, values, this.currencies, this.day, file, line);
  }

  /** After the last record: checks the summary against the rows; the row count it confirmed. */
  finish(): number {
    const { file, header, columns, summaryHeader, summary } = this;
    if (header === undefined || columns === undefined) throw new BillFormatError("truncated", file, 1, 0, undefined, "the bill is empty");
    if (summaryHeader === undefined || summary === undefined) throw new BillFormatError("truncated", file, this.lastLine, 0, undefined, "the bill ends before its summary row");
    const totals = new Map(columns.summed.map((s, i) => [s.column, this.sums[i] ?? 0n]));
    checkSummary(summaryHeader, summary, this.rowCount, totals, file);
    return this.rowCount;
  }
}

const DIGIT_0 = 0x30;
const digitAt = (text: string, at: number): number => {
  const d = text.charCodeAt(at) - DIGIT_0;
  return d >= 0 && d <= 9 ? d : -1;
};

/**
 * A row's `交易时间` as epoch ms. The common case — "yyyy-MM-dd HH:mm:ss" on the bill's own day —
 * is read digit by digit (no regex, no Date round trip); anything else takes the general parser,
 * which refuses it with the same error as before or finds it outside the bill's day.
 */
function timeOnDay(value: string, day: { readonly text: string; readonly startMs: number; readonly endMs: number }, file: string, line: number, column: number): number {
  if (value.length === 19 && value.startsWith(day.text) && value.charCodeAt(10) === 0x20 && value.charCodeAt(13) === 0x3a && value.charCodeAt(16) === 0x3a) {
    const h1 = digitAt(value, 11), h2 = digitAt(value, 12), m1 = digitAt(value, 14), m2 = digitAt(value, 15), s1 = digitAt(value, 17), s2 = digitAt(value, 18);
    if (h1 >= 0 && h2 >= 0 && m1 >= 0 && m2 >= 0 && s1 >= 0 && s2 >= 0) {
      const hours = h1 * 10 + h2, minutes = m1 * 10 + m2, seconds = s1 * 10 + s2;
      // Asia/Shanghai has no daylight saving time since 1991: every day is 24 h of 60-min hours.
      if (hours < 24 && minutes < 60 && seconds < 60) return day.startMs + ((hours * 60 + minutes) * 60 + seconds) * 1000;
    }
  }
  const timeAt: CellAt = { file, line, column, field: "交易时间" };
  const ms = shanghaiTimeCell(value, timeAt);
  requireWithinDay(ms, day, day.text, timeAt);
  return ms;
}

/** A data cell without its backtick (checked before). */
const text = (cells: readonly string[], at: number): string => (at < 0 ? "" : (cells[at] ?? "").slice(1));

/** An amount column's value: already parsed for its summary total, or parsed now. */
function amountOf(cells: readonly string[], columns: Columns, values: readonly bigint[], at: number, name: string, file: string, line: number): bigint {
  const s = columns.summed.findIndex((c) => c.at === at);
  return s >= 0 ? (values[s] as bigint) : yuanAt(text(cells, at), file, line, at + 1, name);
}

function rowOf(
  cells: readonly string[],
  columns: Columns,
  values: readonly bigint[],
  currencies: Map<string, CurrencyCode>,
  day: { readonly text: string; readonly startMs: number; readonly endMs: number },
  file: string,
  line: number,
): BillRow {
  const bookedAtMs = timeOnDay(text(cells, columns.time), day, file, line, columns.time + 1);
  const currencyText = text(cells, columns.currency);
  let currency = currencies.get(currencyText);
  if (currency === undefined) {
    const parsed = parseCurrencyCode(currencyText);
    if (!parsed.ok) throw new BillFormatError("bad_row", file, line, columns.currency + 1, "货币种类", `unknown currency ${JSON.stringify(currencyText)}`);
    currency = parsed.value;
    currencies.set(currencyText, currency);
  }
  const feeSummed = columns.summed.findIndex((c) => c.at === columns.fee);
  const feeMinor = feeSummed >= 0 ? (values[feeSummed] as bigint) : scaledFenAt(text(cells, columns.fee), 5, file, line, columns.fee + 1, "手续费");
  const tradeState = text(cells, columns.state);
  if (tradeState === "REFUND") {
    if (columns.refundTxn < 0 || columns.refundRef < 0 || columns.refundAmount < 0 || columns.refundState < 0) {
      throw new BillFormatError("bad_row", file, line, columns.state + 1, "交易状态", `a refund row in a bill without the ${REFUND_COLUMNS.join(", ")} columns`);
    }
    const state = text(cells, columns.refundState);
    return {
      location: { file, line },
      kind: "refund",
      providerTxnId: text(cells, columns.txn),
      merchantOrderRef: text(cells, columns.order),
      providerRefundId: text(cells, columns.refundTxn),
      merchantRefundRef: text(cells, columns.refundRef),
      amountMinor: -amountOf(cells, columns, values, columns.refundAmount, "退款金额", file, line),
      feeMinor,
      currency,
      status: refundStatus(state),
      providerStatus: `REFUND/${state}`,
      bookedAtMs,
    };
  }
  return {
    location: { file, line },
    kind: "payment",
    providerTxnId: text(cells, columns.txn),
    merchantOrderRef: text(cells, columns.order),
    providerRefundId: "",
    merchantRefundRef: "",
    amountMinor: amountOf(cells, columns, values, columns.amount, columns.amountName, file, line),
    feeMinor,
    currency,
    status: tradeState === "SUCCESS" ? "succeeded" : tradeState === "REVOKED" ? "revoked" : "unknown_provider_status",
    providerStatus: tradeState,
    bookedAtMs,
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
    const cell = summary.cells[i] ?? "";
    const at: CellAt = { file, line: summary.line, column: i + 1, field: name };
    if (name === "总交易单数") {
      if (cell !== String(rowCount)) throw new BillFormatError("totals_mismatch", file, summary.line, i + 1, name, `the summary says ${cell} rows, the bill has ${rowCount}`);
      return;
    }
    const source = SUMMARY_SOURCES[name];
    if (source === undefined) return; // a summary column we have no rule for is not checked
    // A bill without the column (a SUCCESS bill has no refund columns) holds none of it: the
    // stated total must then be zero, which is still a check.
    const sum = sums.get(source.column) ?? 0n;
    const stated = source.scale === 5 ? scaledFenCell(cell, 5, at) : yuanCell(cell, at);
    if (stated !== sum) throw new BillFormatError("totals_mismatch", file, summary.line, i + 1, name, `the summary says ${cell}, the rows add up to ${sum} fen`);
    checkedAmounts++;
  });
  if (checkedAmounts === 0) throw new BillFormatError("totals_mismatch", file, summary.line, 0, undefined, "the summary has no amount total to check");
}
