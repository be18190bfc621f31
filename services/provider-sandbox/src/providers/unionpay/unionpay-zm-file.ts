import iconv from "iconv-lite";
import { collectBillEntries, type BillEntry } from "../../core/bill-entries.js";
import type { BillDiscrepancy } from "../../core/bill-discrepancies.js";
import { formatShanghai } from "../../core/shanghai-time.js";
import type { PaymentRecord } from "../../core/store.js";

/** A fixed-width field: its name and its width in bytes. */
export interface FixedField {
  readonly name: string;
  readonly width: number;
}

/** The 42 fields of the UnionPay ZM (ordinary transactions) record, as the ACP SDK reads them. */
export const ZM_FIELDS: readonly FixedField[] = [
  ["交易代码", 3], ["代理机构标识码", 11], ["发送机构标识码", 11], ["系统跟踪号", 6], ["交易传输时间", 10], ["帐号", 19],
  ["交易金额", 12], ["商户类别", 4], ["终端类型", 2], ["查询流水号", 21], ["支付方式(旧)", 2], ["商户订单号", 32],
  ["支付卡类型", 2], ["原始交易的系统跟踪号", 6], ["原始交易日期时间", 10], ["商户手续费", 13], ["结算金额", 13],
  ["支付方式", 4], ["集团商户代码", 15], ["交易类型", 2], ["交易子类", 2], ["业务类型", 6], ["帐号类型", 2],
  ["账单类型", 4], ["账单号码", 32], ["交互方式", 1], ["原交易查询流水号", 21], ["商户代码", 15], ["分账入账方式", 1],
  ["二级商户代码", 15], ["二级商户简称", 32], ["二级商户分账入账金额", 13], ["清算净额", 13], ["终端号", 8],
  ["商户自定义域", 32], ["优惠金额", 13], ["发票金额", 13], ["分期付款附加手续费", 12], ["分期付款期数", 2],
  ["交易介质", 1], ["原始交易订单号", 32], ["保留使用", 98],
].map(([name, width]) => ({ name: name as string, width: width as number }));

/**
 * The 22 fields of the ZME (error / adjustment) record. The widths come from the ACP SDK; it
 * does not name them, so these names are ours (documented in the README).
 */
export const ZME_FIELDS: readonly FixedField[] = [
  ["交易代码", 3], ["代理机构标识码", 11], ["发送机构标识码", 11], ["系统跟踪号", 6], ["交易传输时间", 10], ["帐号", 19],
  ["交易金额", 12], ["商户类别", 4], ["终端类型", 2], ["差错类型", 2], ["原始系统跟踪号", 6], ["原始交易传输时间", 10],
  ["原因码", 4], ["原始交易金额", 12], ["差错手续费", 13], ["差错金额", 13], ["商户代码", 15], ["二级商户代码", 15],
  ["借贷标识", 1], ["保留金额", 12], ["清算类型", 2], ["备注", 135],
].map(([name, width]) => ({ name: name as string, width: width as number }));

/** A UnionPay adjustment (差错) to report in the ZME file. */
export interface UnionpayAdjustment {
  readonly outTradeNo: string;
  /** C: credited to the merchant; D: debited. */
  readonly direction: "C" | "D";
  readonly amountMinor: bigint;
  readonly reasonCode: string;
  readonly atMs: number;
}

/** A signed 13-byte amount: C (credit to the merchant) or D (debit) and 12 digits of fen. */
export function signedAmount13(direction: "C" | "D", amountMinor: bigint): string {
  if (amountMinor < 0n || amountMinor >= 10n ** 12n) throw new RangeError(`amount ${amountMinor} does not fit 12 digits`);
  return `${direction}${amountMinor.toString().padStart(12, "0")}`;
}

function amount12(amountMinor: bigint): string {
  if (amountMinor < 0n || amountMinor >= 10n ** 12n) throw new RangeError(`amount ${amountMinor} does not fit 12 digits`);
  return amountMinor.toString().padStart(12, "0");
}

/**
 * Encodes one record: each value GBK-encoded, left-aligned and padded with spaces to its byte
 * width, fields joined by one space byte. A value wider than its field is a bug and throws.
 */
export function encodeFixedRecord(fields: readonly FixedField[], values: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [];
  fields.forEach((field, index) => {
    const bytes = iconv.encode(values[field.name] ?? "", "gbk");
    if (bytes.length > field.width) throw new RangeError(`${field.name}: ${bytes.length} bytes > ${field.width}`);
    if (index > 0) parts.push(Buffer.from(" "));
    parts.push(bytes, Buffer.alloc(field.width - bytes.length, 0x20));
  });
  return Buffer.concat(parts);
}

function zmValues(e: BillEntry, merId: string): Record<string, string> {
  const payment = e.kind === "payment";
  const net = e.amountMinor - e.feeMinor;
  return {
    交易代码: payment ? (e.revoked ? "S31" : "S22") : "S30",
    代理机构标识码: "00049992900",
    发送机构标识码: "00049992900",
    系统跟踪号: payment ? (e.extra["traceNo"] ?? "000000") : e.providerRefundNo?.slice(-6) ?? "000000",
    交易传输时间: formatShanghai(e.atMs, "MMddHHmmss"),
    帐号: e.extra["accNo"] ?? "",
    交易金额: amount12(e.amountMinor),
    商户类别: "5411",
    终端类型: "08",
    查询流水号: payment ? e.providerTradeNo : (e.providerRefundNo ?? ""),
    "支付方式(旧)": "00",
    商户订单号: payment ? e.outTradeNo : (e.outRefundNo ?? ""),
    支付卡类型: "01",
    原始交易的系统跟踪号: payment ? "" : (e.extra["traceNo"] ?? ""),
    原始交易日期时间: payment ? "" : (e.extra["traceTime"] ?? ""),
    // The merchant pays the fee on a payment (D) and gets its share back on a refund (C).
    商户手续费: signedAmount13(payment ? "D" : "C", e.feeMinor),
    结算金额: signedAmount13(payment ? "C" : "D", e.amountMinor),
    支付方式: "0001",
    交易类型: payment ? "01" : "04",
    交易子类: payment ? (e.extra["txnSubType"] ?? "01") : "00",
    业务类型: e.extra["bizType"] ?? "000000",
    帐号类型: "01",
    交互方式: "0",
    原交易查询流水号: payment ? "" : e.providerTradeNo,
    商户代码: merId,
    清算净额: signedAmount13(payment ? "C" : "D", net < 0n ? -net : net),
    商户自定义域: e.attach ?? "",
    优惠金额: signedAmount13("C", 0n),
    发票金额: signedAmount13("C", 0n),
    分期付款附加手续费: amount12(0n),
    分期付款期数: "00",
    交易介质: "0",
    原始交易订单号: payment ? "" : e.outTradeNo,
  };
}

/** The ZM and ZME files of one Asia/Shanghai day, GBK bytes with CRLF record ends. */
export interface UnionpaySettlementFiles {
  readonly zmName: string;
  readonly zm: Buffer;
  readonly zmeName: string;
  readonly zme: Buffer;
}

/**
 * Writes UnionPay's merchant settlement files for one day from what the sandbox processed: the
 * ZM file (one fixed-width record per payment or refund, amounts in fen with C/D direction) and
 * the ZME file of adjustments.
 */
export function writeUnionpaySettlementFiles(input: {
  day: string;
  merId: string;
  payments: readonly PaymentRecord[];
  adjustments?: readonly UnionpayAdjustment[];
  discrepancies?: readonly BillDiscrepancy[];
}): UnionpaySettlementFiles {
  const entries = collectBillEntries(input.payments, input.day, input.discrepancies ?? []);
  const yymmdd = input.day.replaceAll("-", "").slice(2);
  const crlf = Buffer.from("\r\n");
  const zm = Buffer.concat(entries.flatMap((e) => [encodeFixedRecord(ZM_FIELDS, zmValues(e, input.merId)), crlf]));
  const byOrder = new Map(input.payments.map((p) => [p.outTradeNo, p]));
  const zme = Buffer.concat(
    (input.adjustments ?? [])
      .filter((a) => formatShanghai(a.atMs, "yyyy-MM-dd") === input.day)
      .flatMap((a) => {
        const original = byOrder.get(a.outTradeNo);
        const values: Record<string, string> = {
          交易代码: "E74",
          代理机构标识码: "00049992900",
          发送机构标识码: "00049992900",
          系统跟踪号: original?.extra["traceNo"] ?? "000000",
          交易传输时间: formatShanghai(a.atMs, "MMddHHmmss"),
          帐号: original?.extra["accNo"] ?? "",
          交易金额: amount12(a.amountMinor),
          商户类别: "5411",
          终端类型: "08",
          差错类型: "01",
          原始系统跟踪号: original?.extra["traceNo"] ?? "",
          原始交易传输时间: original?.extra["traceTime"] ?? "",
          原因码: a.reasonCode,
          原始交易金额: amount12(original?.amountMinor ?? 0n),
          差错手续费: signedAmount13("C", 0n),
          差错金额: signedAmount13(a.direction, a.amountMinor),
          商户代码: input.merId,
          借贷标识: a.direction,
          保留金额: amount12(0n),
          清算类型: "00",
          备注: `${original?.providerTradeNo ?? ""} ${a.outTradeNo}`,
        };
        return [encodeFixedRecord(ZME_FIELDS, values), crlf];
      }),
  );
  return { zmName: `INN${yymmdd}88ZM_${input.merId}`, zm, zmeName: `INN${yymmdd}88ZME_${input.merId}`, zme };
}
