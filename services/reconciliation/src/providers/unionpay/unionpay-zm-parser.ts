import iconv from "iconv-lite";
import type { Result } from "@tributary/result";
import type { BillRejection, BillRow, BillRowStatus, ParsedBill } from "../../domain/bill.js";
import { BillFormatError, PROGRESS_EVERY, rejectOnFormatError, shanghaiDayBounds, type CellAt, type ProgressListener } from "../bill-reader.js";
import { openArchive } from "../zip-archive.js";

/** A fixed-width field: its name and its width in bytes. */
interface FixedField {
  readonly name: string;
  readonly width: number;
}

const fields = (spec: readonly (readonly [string, number])[]): readonly FixedField[] => spec.map(([name, width]) => ({ name, width }));

/** The 42 fields of a ZM record (ordinary transactions), widths as the ACP SDK reads them. */
export const ZM_FIELDS = fields([
  ["交易代码", 3], ["代理机构标识码", 11], ["发送机构标识码", 11], ["系统跟踪号", 6], ["交易传输时间", 10], ["帐号", 19],
  ["交易金额", 12], ["商户类别", 4], ["终端类型", 2], ["查询流水号", 21], ["支付方式(旧)", 2], ["商户订单号", 32],
  ["支付卡类型", 2], ["原始交易的系统跟踪号", 6], ["原始交易日期时间", 10], ["商户手续费", 13], ["结算金额", 13],
  ["支付方式", 4], ["集团商户代码", 15], ["交易类型", 2], ["交易子类", 2], ["业务类型", 6], ["帐号类型", 2],
  ["账单类型", 4], ["账单号码", 32], ["交互方式", 1], ["原交易查询流水号", 21], ["商户代码", 15], ["分账入账方式", 1],
  ["二级商户代码", 15], ["二级商户简称", 32], ["二级商户分账入账金额", 13], ["清算净额", 13], ["终端号", 8],
  ["商户自定义域", 32], ["优惠金额", 13], ["发票金额", 13], ["分期付款附加手续费", 12], ["分期付款期数", 2],
  ["交易介质", 1], ["原始交易订单号", 32], ["保留使用", 98],
]);

/**
 * The 22 fields of a ZME record (差错, adjustments). The widths are the ACP SDK's; it does not name
 * them, so the names are the sandbox's (its README), which we share.
 */
export const ZME_FIELDS = fields([
  ["交易代码", 3], ["代理机构标识码", 11], ["发送机构标识码", 11], ["系统跟踪号", 6], ["交易传输时间", 10], ["帐号", 19],
  ["交易金额", 12], ["商户类别", 4], ["终端类型", 2], ["差错类型", 2], ["原始系统跟踪号", 6], ["原始交易传输时间", 10],
  ["原因码", 4], ["原始交易金额", 12], ["差错手续费", 13], ["差错金额", 13], ["商户代码", 15], ["二级商户代码", 15],
  ["借贷标识", 1], ["保留金额", 12], ["清算类型", 2], ["备注", 135],
]);

/** Fields are separated by one byte, so a record is the widths plus one byte between each pair. */
const recordLength = (spec: readonly FixedField[]): number => spec.reduce((s, f) => s + f.width, 0) + spec.length - 1;

/**
 * Splits a fixed-width GBK file into records (CRLF ends) and each record into its fields by byte
 * offsets, decoding each field as GBK. A record of the wrong byte length is refused (the last one
 * as truncated), as is a field with bytes that are not GBK (the column is the byte offset).
 */
function* fixedRecords(bytes: Buffer, spec: readonly FixedField[], file: string, onProgress: ProgressListener | undefined): Generator<{ values: ReadonlyMap<string, string>; offsets: ReadonlyMap<string, number>; line: number }> {
  const expected = recordLength(spec);
  let start = 0;
  let line = 0;
  while (start < bytes.length) {
    line++;
    if (line % PROGRESS_EVERY === 0) onProgress?.(line);
    const end = bytes.indexOf("\r\n", start);
    const stop = end === -1 ? bytes.length : end;
    const length = stop - start;
    if (length !== expected) {
      const last = end === -1 || end + 2 >= bytes.length;
      throw new BillFormatError(last && length < expected ? "truncated" : "bad_row", file, line, Math.min(length, expected) + 1, undefined, `a record of ${length} bytes, not ${expected}${end === -1 ? " (no CRLF at the end)" : ""}`);
    }
    if (end === -1) throw new BillFormatError("truncated", file, line, length + 1, undefined, "the last record has no CRLF");
    const values = new Map<string, string>();
    const offsets = new Map<string, number>();
    let offset = start;
    for (const field of spec) {
      const raw = bytes.subarray(offset, offset + field.width);
      const text = iconv.decode(raw, "gbk");
      if (text.includes("\uFFFD")) throw new BillFormatError("encoding", file, line, offset - start + 1, field.name, "bytes that are not GBK");
      values.set(field.name, text.trimEnd());
      offsets.set(field.name, offset - start + 1);
      offset += field.width + 1;
    }
    yield { values, offsets, line };
    start = stop + 2;
  }
}

/** 12 digits of fen. */
function fen12(text: string, at: CellAt): bigint {
  if (!/^\d{12}$/.test(text)) throw new BillFormatError("bad_amount", at.file, at.line, at.column, at.field, `${JSON.stringify(text)} is not 12 digits of fen`);
  return BigInt(text);
}

/** A 13-byte signed amount: C (credit to the merchant, +) or D (debit, −) and 12 digits of fen. */
function signed13(text: string, at: CellAt): bigint {
  const m = /^([CD])(\d{12})$/.exec(text);
  if (m === null) throw new BillFormatError("bad_amount", at.file, at.line, at.column, at.field, `${JSON.stringify(text)} is not C/D and 12 digits of fen`);
  const value = BigInt(m[2] ?? "0");
  return m[1] === "C" ? value : -value;
}

/**
 * MMddHHmmss in Asia/Shanghai; the file carries no year, so the day must be the bill's own
 * (a record of another day refuses the bill).
 */
function transmissionTime(text: string, billDate: string, at: CellAt): number {
  const bounds = shanghaiDayBounds(billDate);
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (bounds === undefined || m === null) throw new BillFormatError("bad_time", at.file, at.line, at.column, at.field, `${JSON.stringify(text)} is not MMddHHmmss`);
  if (`${m[1]}-${m[2]}` !== billDate.slice(5)) throw new BillFormatError("outside_bill_day", at.file, at.line, at.column, at.field, `dated ${m[1]}-${m[2]}, outside the bill's day ${billDate}`);
  const [hh, mm, ss] = [Number(m[3]), Number(m[4]), Number(m[5])];
  if (hh > 23 || mm > 59 || ss > 59) throw new BillFormatError("bad_time", at.file, at.line, at.column, at.field, `${JSON.stringify(text)} is not a time of day`);
  return bounds.startMs + ((hh * 60 + mm) * 60 + ss) * 1000;
}

function zmStatus(code: string): { kind: "payment" | "refund"; status: BillRowStatus } {
  switch (code) {
    case "S22":
      return { kind: "payment", status: "succeeded" };
    case "S30":
      return { kind: "refund", status: "refund_succeeded" };
    case "S31":
      return { kind: "payment", status: "revoked" };
    default:
      return { kind: "payment", status: "unknown_provider_status" };
  }
}

function zmRow(values: ReadonlyMap<string, string>, offsets: ReadonlyMap<string, number>, file: string, line: number, billDate: string): BillRow {
  const v = (name: string): string => values.get(name) ?? "";
  const at = (name: string): CellAt => ({ file, line, column: offsets.get(name) ?? 0, field: name });
  const code = v("交易代码");
  const { kind, status } = zmStatus(code);
  const amount = fen12(v("交易金额"), at("交易金额"));
  const settled = signed13(v("结算金额"), at("结算金额"));
  // The merchant pays the fee on a payment (D) and gets its share back on a refund (C).
  const feeMinor = -signed13(v("商户手续费"), at("商户手续费"));
  const net = signed13(v("清算净额"), at("清算净额"));
  if ((settled < 0n ? -settled : settled) !== amount) {
    throw new BillFormatError("totals_mismatch", file, line, at("结算金额").column, "结算金额", `结算金额 ${settled} fen is not 交易金额 ${amount} fen`);
  }
  if (kind === "refund" ? settled > 0n : settled < 0n) {
    throw new BillFormatError("bad_amount", file, line, at("结算金额").column, "结算金额", `a ${code} record settled in the wrong direction`);
  }
  if (net !== settled - feeMinor) {
    throw new BillFormatError("totals_mismatch", file, line, at("清算净额").column, "清算净额", `清算净额 ${net} fen is not 结算金额 − 商户手续费 (${settled - feeMinor})`);
  }
  const bookedAtMs = transmissionTime(v("交易传输时间"), billDate, at("交易传输时间"));
  const refund = kind === "refund";
  return {
    location: { file, line },
    kind,
    // A refund record carries its own query id and order id, and the original payment's in the
    // 原交易查询流水号 / 原始交易订单号 fields.
    providerTxnId: refund ? v("原交易查询流水号") : v("查询流水号"),
    merchantOrderRef: refund ? v("原始交易订单号") : v("商户订单号"),
    providerRefundId: refund ? v("查询流水号") : "",
    merchantRefundRef: refund ? v("商户订单号") : "",
    amountMinor: settled,
    feeMinor,
    currency: "CNY",
    status,
    providerStatus: code,
    bookedAtMs,
  };
}

function zmeRow(values: ReadonlyMap<string, string>, offsets: ReadonlyMap<string, number>, file: string, line: number, billDate: string): BillRow {
  const v = (name: string): string => values.get(name) ?? "";
  const at = (name: string): CellAt => ({ file, line, column: offsets.get(name) ?? 0, field: name });
  const amountMinor = signed13(v("差错金额"), at("差错金额"));
  const direction = v("借贷标识");
  if (direction !== (amountMinor < 0n ? "D" : "C")) {
    throw new BillFormatError("bad_amount", file, line, at("借贷标识").column, "借贷标识", `借贷标识 ${JSON.stringify(direction)} disagrees with 差错金额 ${v("差错金额")}`);
  }
  fen12(v("交易金额"), at("交易金额"));
  // The remark names the original payment: "<query id> <merchant order id>" (the sandbox's layout).
  const [providerTxnId = "", merchantOrderRef = ""] = v("备注").split(/\s+/);
  return {
    location: { file, line },
    kind: "adjustment",
    providerTxnId,
    merchantOrderRef,
    providerRefundId: "",
    merchantRefundRef: `${v("交易代码")}/${v("系统跟踪号")}/${v("交易传输时间")}`,
    amountMinor,
    feeMinor: -signed13(v("差错手续费"), at("差错手续费")),
    currency: "CNY",
    status: "adjusted",
    providerStatus: `${v("交易代码")}/${v("差错类型")}/${v("原因码")}`,
    bookedAtMs: transmissionTime(v("交易传输时间"), billDate, at("交易传输时间")),
  };
}

/**
 * Parses UnionPay's merchant settlement archive (the zip inside `fileTransfer`'s fileContent): the
 * `…ZM_{merId}` file of ordinary transactions and the `…ZME_…` file of adjustments, both fixed
 * width by bytes in GBK with one separator byte, amounts in fen with a C/D direction. The ZM file
 * has no trailer, so every record is checked on its own: |结算金额| = 交易金额, the direction fits
 * the transaction code, 清算净额 = 结算金额 − 商户手续费, and the date is the bill's.
 */
export async function parseUnionpaySettlement(input: {
  readonly bytes: Uint8Array;
  readonly file: string;
  readonly billDate: string;
  readonly onProgress?: ProgressListener;
}): Promise<Result<ParsedBill, BillRejection>> {
  return rejectOnFormatError(async () => {
    const entries = await openArchive(input.bytes, input.file);
    const zm = entries.find((e) => /ZM_/.test(e.name));
    if (zm === undefined) throw new BillFormatError("bad_archive", input.file, 0, 0, undefined, `no ZM file (found ${entries.map((e) => e.name).join(", ") || "none"})`);
    return readUnionpayFiles({ zm, zme: entries.find((e) => /ZME_/.test(e.name)), billDate: input.billDate, ...(input.onProgress === undefined ? {} : { onProgress: input.onProgress }) });
  });
}

/** The ZM and ZME files of one day, out of their archive (a `--file` run may hand them over so). */
export interface UnionpayFiles {
  readonly zm: { readonly name: string; readonly bytes: Buffer };
  readonly zme: { readonly name: string; readonly bytes: Buffer } | undefined;
  readonly billDate: string;
  readonly onProgress?: ProgressListener;
}

/** Parses a ZM file and an optional ZME file already out of their archive. */
export async function parseUnionpayFiles(input: UnionpayFiles): Promise<Result<ParsedBill, BillRejection>> {
  return rejectOnFormatError(async () => readUnionpayFiles(input));
}

function readUnionpayFiles(input: UnionpayFiles): ParsedBill {
  const rows: BillRow[] = [];
  for (const r of fixedRecords(input.zm.bytes, ZM_FIELDS, input.zm.name, input.onProgress)) rows.push(zmRow(r.values, r.offsets, input.zm.name, r.line, input.billDate));
  if (input.zme !== undefined) {
    for (const r of fixedRecords(input.zme.bytes, ZME_FIELDS, input.zme.name, input.onProgress)) rows.push(zmeRow(r.values, r.offsets, input.zme.name, r.line, input.billDate));
  }
  return { provider: "unionpay", billDate: input.billDate, files: [input.zm.name, ...(input.zme === undefined ? [] : [input.zme.name])], rows };
}
