import { parseDecimal, parseDecimalScaled, parseRatePpm } from "@tributary/money";
import { inflateSync } from "node:zlib";
import iconv from "iconv-lite";
import { describe, expect, it } from "vitest";
import { FEE_SCHEDULES } from "./config/fee-schedules.js";
import { writeAlipayTradeBill } from "./providers/alipay/alipay-bill.js";
import { writeGenericBill } from "./providers/hmac-json/generic-bill.js";
import { writeUnionpaySettlementFiles } from "./providers/unionpay/unionpay-zm-file.js";
import { writeWechatTradeBill, type WechatBillColumns } from "./providers/wechat/wechat-bill.js";
import { parseAlipayCsv, readZipRaw } from "../test/parsers/alipay-bill-parser.js";
import { parseGenericBill } from "../test/parsers/generic-bill-parser.js";
import { parseFixedWidth, signedFen, ZM_WIDTHS, ZME_WIDTHS } from "../test/parsers/unionpay-zm-parser.js";
import { parseWechatBill } from "../test/parsers/wechat-bill-parser.js";
import { DAY, DAY_END, expectedRows, seededDay, sortRows } from "../test/support/seeded-day.js";

const fen = (text: string | undefined): bigint => {
  const parsed = parseDecimal(text ?? "", "CNY");
  if (!parsed.ok) throw new Error(`not an amount: ${text}`);
  return parsed.value.amountMinor;
};
// WeChat fees have five decimals; the last three must be zero for a per-fen fee.
const fee5 = (text: string | undefined): bigint => {
  const parsed = parseDecimalScaled(text ?? "", 5);
  if (!parsed.ok || parsed.value % 1000n !== 0n) throw new Error(`not a fee: ${text}`);
  return parsed.value / 1000n;
};

describe("WeChat Pay trade bill round trip", () => {
  const payments = seededDay("wechat", 7);
  const base = { day: DAY, payments, mchid: "1900000001", appid: "wx01", feeSchedule: FEE_SCHEDULES.wechat };

  for (const columns of ["current", "legacy"] as WechatBillColumns[]) {
    it(`ALL (${columns}) parses back to exactly the processed transactions, summary = sum of rows`, () => {
      const bill = parseWechatBill(writeWechatTradeBill({ ...base, billType: "ALL", columns }));
      expect(bill.lineEndingsAreCrlf).toBe(true);
      expect(bill.everyDataCellHasBacktick).toBe(true);
      expect(bill.header).toHaveLength(columns === "current" ? 27 : 24);
      const amountColumn = columns === "current" ? "应结订单金额" : "总金额";
      const rows = bill.rows.map((r) => {
        const refund = r["交易状态"] === "REFUND";
        expect(parseRatePpm(r["费率"] ?? "")).toEqual({ ok: true, value: 6000n });
        return {
          kind: refund ? ("refund" as const) : ("payment" as const),
          outTradeNo: r["商户订单号"] ?? "",
          amount: refund ? fen(r["退款金额"]) : fen(r[amountColumn]),
          fee: refund ? -fee5(r["手续费"]) : fee5(r["手续费"]),
          ...(refund ? { outRefundNo: r["商户退款单号"] ?? "" } : {}),
        };
      });
      expect(sortRows(rows)).toEqual(expectedRows(payments));
      const payRows = bill.rows.filter((r) => r["交易状态"] === "SUCCESS");
      const refundRows = bill.rows.filter((r) => r["交易状态"] === "REFUND");
      expect(bill.summary["总交易单数"]).toBe(String(bill.rows.length));
      const settled = payRows.reduce((s, r) => s + fen(r[amountColumn]), 0n);
      const refunded = refundRows.reduce((s, r) => s + fen(r["退款金额"]), 0n);
      const fees = bill.rows.reduce((s, r) => s + fee5(r["手续费"]), 0n);
      expect(fen(bill.summary[columns === "current" ? "应结订单总金额" : "总交易额"])).toBe(settled);
      expect(fen(bill.summary[columns === "current" ? "退款总金额" : "总退款金额"])).toBe(refunded);
      expect(fee5(bill.summary["手续费总金额"])).toBe(fees);
      // 1299.02 at 0.60% is 7.79 in the bill.
      expect(bill.rows.find((r) => r[amountColumn] === "1299.02")?.["手续费"]).toBe("7.79000");
      // The refund accepted on the day but finished after the cut-off is a PROCESSING snapshot.
      expect(refundRows.find((r) => r["商户退款单号"]?.endsWith("R2"))?.["退款状态"]).toBe("PROCESSING");
    });
  }

  it("SUCCESS and REFUND bills have their own column sets", () => {
    const success = parseWechatBill(writeWechatTradeBill({ ...base, billType: "SUCCESS", columns: "current" }));
    expect(success.header).toHaveLength(20);
    expect(success.summaryHeader).toEqual(["总交易单数", "应结订单总金额", "手续费总金额", "订单总金额"]);
    expect(success.rows.every((r) => r["交易状态"] === "SUCCESS")).toBe(true);
    const refund = parseWechatBill(writeWechatTradeBill({ ...base, billType: "REFUND", columns: "legacy" }));
    expect(refund.header).toContain("退款申请时间");
    expect(refund.header).toContain("退款成功时间");
    expect(refund.rows.every((r) => r["交易状态"] === "REFUND")).toBe(true);
    expect(refund.rows.length).toBe(expectedRows(payments).filter((r) => r.kind === "refund").length);
  });

  it("applies discrepancies: missing, changed amount, changed fee, status, extra, next-day booking", () => {
    const paidOnDay = payments.filter((p) => p.paidAtMs !== undefined && p.paidAtMs < DAY_END - 1000 && p.paidAtMs >= DAY_END - 86_400_000);
    const [a, b, c, d] = paidOnDay.map((p) => p.outTradeNo);
    const text = writeWechatTradeBill({
      ...base, billType: "ALL", columns: "current",
      discrepancies: [
        { kind: "missing_row", outTradeNo: a ?? "" },
        { kind: "changed_amount", outTradeNo: b ?? "", deltaMinor: 1n },
        { kind: "changed_fee", outTradeNo: c ?? "", deltaMinor: 2n },
        { kind: "status_difference", outTradeNo: d ?? "" },
        { kind: "extra_row", outTradeNo: "GHOST1", amountMinor: 500n, atMs: DAY_END - 3_600_000 },
        { kind: "next_day_booking", withinMsOfCutoff: 1000 },
      ],
    });
    const bill = parseWechatBill(text);
    const byOrder = (no: string | undefined) => bill.rows.filter((r) => r["商户订单号"] === no && r["交易状态"] !== "REFUND");
    expect(byOrder(a)).toHaveLength(0);
    const original = payments.find((p) => p.outTradeNo === b);
    expect(fen(byOrder(b)[0]?.["应结订单金额"])).toBe((original?.amountMinor ?? 0n) + 1n);
    expect(byOrder(d)[0]?.["交易状态"]).toBe("REVOKED");
    expect(byOrder("GHOST1")).toHaveLength(1);
    // The payment at 23:59:59.900 is gone from this day's bill …
    expect(byOrder("ORDER70002")).toHaveLength(0);
    // … and appears on the next day's.
    const next = parseWechatBill(writeWechatTradeBill({ ...base, day: "2026-11-24", billType: "ALL", columns: "current", discrepancies: [{ kind: "next_day_booking", withinMsOfCutoff: 1000 }] }));
    expect(next.rows.some((r) => r["商户订单号"] === "ORDER70002")).toBe(true);
  });
});

describe("Alipay trade bill round trip", () => {
  it("is a zip of two GBK CSVs with GBK names, UTF-8 flag unset, and parses back exactly", async () => {
    const payments = seededDay("alipay", 11);
    const bill = await writeAlipayTradeBill({ day: DAY, payments, account: "20880000000000010156", exportedAtMs: DAY_END + 3_600_000, feeSchedule: FEE_SCHEDULES.alipay });
    expect(bill.fileName).toBe("20880000000000010156_20261123.csv.zip");
    const entries = await readZipRaw(bill.zip);
    expect(entries.map((e) => e.name).sort()).toEqual(["20880000000000010156_20261123_业务明细(汇总).csv", "20880000000000010156_20261123_业务明细.csv"]);
    expect(entries.every((e) => !e.utf8Flag)).toBe(true);
    const detail = parseAlipayCsv(entries.find((e) => e.name.endsWith("_业务明细.csv"))!.data);
    expect(detail.preamble[0]).toBe("#支付宝业务明细查询");
    expect(detail.preamble[1]).toBe("#账号：[20880000000000010156]");
    expect(detail.preamble[2]).toBe("#起始日期：[2026年11月23日 00:00:00]   终止日期：[2026年11月24日 00:00:00]");
    expect(detail.header).toHaveLength(25);
    expect(detail.rows.every((r) => r["支付宝交易号"]?.endsWith("\t") && r["商户订单号"]?.endsWith("\t"))).toBe(true);
    const rows = detail.rows.map((r) => {
      const refund = r["业务类型"] === "退款";
      const received = fen(r["商家实收（元）"]);
      const fee = fen(r["服务费（元）"]);
      if (refund) expect(received < 0n).toBe(true);
      // Real exports show a refund's 订单金额 negative too, equal to its 商家实收.
      if (refund) expect(fen(r["订单金额（元）"])).toBe(received);
      return {
        kind: refund ? ("refund" as const) : ("payment" as const),
        outTradeNo: (r["商户订单号"] ?? "").replace(/\t$/, ""),
        amount: refund ? -received : received,
        fee: refund ? fee : -fee,
        ...(refund ? { outRefundNo: (r["退款批次号/请求号"] ?? "").replace(/\t$/, "") } : {}),
      };
    });
    expect(sortRows(rows)).toEqual(expectedRows(payments));
    // Footer totals use full-width punctuation and equal the sums of the rows.
    const trades = rows.filter((r) => r.kind === "payment");
    const refunds = rows.filter((r) => r.kind === "refund");
    const tradeLine = detail.footer.find((l) => l.startsWith("#交易合计："));
    const refundLine = detail.footer.find((l) => l.startsWith("#退款合计："));
    const tm = /^#交易合计：(\d+)笔，商家实收共(-?\d+\.\d{2})元，商家优惠共0\.00元$/.exec(tradeLine ?? "");
    const rm = /^#退款合计：(\d+)笔，商家实收退款共(-?\d+\.\d{2})元，商家优惠退款共0\.00元$/.exec(refundLine ?? "");
    expect(Number(tm?.[1])).toBe(trades.length);
    expect(fen(tm?.[2])).toBe(trades.reduce((s, r) => s + r.amount, 0n));
    expect(Number(rm?.[1])).toBe(refunds.length);
    expect(fen(rm?.[2])).toBe(-refunds.reduce((s, r) => s + r.amount, 0n));
    expect(detail.footer.some((l) => /^#导出时间：\[\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}:\d{2}\]$/.test(l))).toBe(true);
    const summary = parseAlipayCsv(entries.find((e) => e.name.endsWith("(汇总).csv"))!.data);
    const total = summary.rows.find((r) => r["门店编号"] === "合计");
    expect(fen(total?.["商家实收（元）"])).toBe(detail.rows.reduce((s, r) => s + fen(r["商家实收（元）"]), 0n));
    expect(fen(total?.["服务费（元）"])).toBe(detail.rows.reduce((s, r) => s + fen(r["服务费（元）"]), 0n));
  });

  it("draws the separator lines as real exports do: 41 + 业务明细列表 + 40 dashes, 41 + 业务明细列表结束 + 36", async () => {
    const payments = seededDay("alipay", 11);
    const bill = await writeAlipayTradeBill({ day: DAY, payments, account: "20880000000000010156", exportedAtMs: DAY_END + 3_600_000, feeSchedule: FEE_SCHEDULES.alipay });
    const lines = bill.detailText.split("\r\n");
    const start = lines.filter((l) => /^#-+业务明细列表-+$/.test(l));
    const end = lines.filter((l) => /^#-+业务明细列表结束-+$/.test(l));
    expect(start).toEqual([`#${"-".repeat(41)}业务明细列表${"-".repeat(40)}`]);
    expect(end).toEqual([`#${"-".repeat(41)}业务明细列表结束${"-".repeat(36)}`]);
    expect(lines[3]).toBe(start[0]);
    expect(payments.some((p) => p.refunds.length > 0)).toBe(true);
  });

  it("is parsed by marker text, whatever the dash counts", async () => {
    const payments = seededDay("alipay", 11);
    const bill = await writeAlipayTradeBill({ day: DAY, payments, account: "20880000000000010156", exportedAtMs: DAY_END + 3_600_000, feeSchedule: FEE_SCHEDULES.alipay });
    const original = parseAlipayCsv(iconv.encode(bill.detailText, "gbk"));
    const redrawn = bill.detailText.replace(/^#-+(业务明细列表(?:结束)?)-+$/gm, "#---$1-------");
    expect(redrawn).not.toBe(bill.detailText);
    const reparsed = parseAlipayCsv(iconv.encode(redrawn, "gbk"));
    expect(reparsed.rows).toEqual(original.rows);
    expect(reparsed.footer.slice(1)).toEqual(original.footer.slice(1));
    expect(original.rows.length).toBeGreaterThan(0);
  });
});

describe("UnionPay ZM / ZME round trip", () => {
  it("writes fixed-width GBK records that parse back to exactly the processed transactions", () => {
    const payments = seededDay("unionpay", 13);
    const files = writeUnionpaySettlementFiles({
      day: DAY, merId: "777290058110048", payments,
      adjustments: [{ outTradeNo: payments[10]!.outTradeNo, direction: "D", amountMinor: 123n, reasonCode: "4502", atMs: DAY_END - 1000 }],
    });
    expect(files.zmName).toBe("INN26112388ZM_777290058110048");
    const records = parseFixedWidth(files.zm, ZM_WIDTHS);
    const rows = records.map((f) => {
      const refund = f[0] === "S30";
      const settle = signedFen(f[16]!);
      const fee = signedFen(f[15]!);
      const net = signedFen(f[32]!);
      expect(BigInt(f[6]!)).toBe(refund ? -settle : settle);
      expect(net).toBe(settle + fee);
      expect(f[27]).toBe("777290058110048");
      return {
        kind: refund ? ("refund" as const) : ("payment" as const),
        outTradeNo: refund ? f[40]! : f[11]!,
        amount: BigInt(f[6]!),
        fee: refund ? fee : -fee,
        ...(refund ? { outRefundNo: f[11]! } : {}),
      };
    });
    expect(sortRows(rows)).toEqual(expectedRows(payments));
    // 1299.02 at 0.38% half_up = 4.94
    expect(records.find((f) => f[6] === "000000129902")?.[15]).toBe("D000000000494");
    const zme = parseFixedWidth(files.zme, ZME_WIDTHS);
    expect(zme).toHaveLength(1);
    expect(signedFen(zme[0]![15]!)).toBe(-123n);
  });
});

describe("JD Pay / e-CNY bill round trip", () => {
  it("parses back exactly and its totals equal its rows", () => {
    const payments = seededDay("jdpay", 17);
    const bill = parseGenericBill(writeGenericBill({ provider: "jdpay", merchantId: "M1", day: DAY, payments }));
    expect(bill.preamble["date"]).toBe(DAY);
    const rows = bill.rows.map((r) => {
      const refund = r["record_type"] === "REFUND";
      const amount = BigInt(r["amount_minor"] ?? "x");
      const fee = BigInt(r["fee_minor"] ?? "x");
      expect(BigInt(r["net_minor"] ?? "x")).toBe(amount - fee);
      return { kind: refund ? ("refund" as const) : ("payment" as const), outTradeNo: r["out_trade_no"] ?? "", amount: refund ? -amount : amount, fee: refund ? -fee : fee, ...(refund ? { outRefundNo: r["out_refund_no"] ?? "" } : {}) };
    });
    expect(sortRows(rows)).toEqual(expectedRows(payments));
    expect(BigInt(bill.totals["count"] ?? "x")).toBe(BigInt(bill.rows.length));
    expect(BigInt(bill.totals["amount_minor"] ?? "x")).toBe(bill.rows.reduce((s, r) => s + BigInt(r["amount_minor"] ?? "0"), 0n));
    expect(BigInt(bill.totals["fee_minor"] ?? "x")).toBe(bill.rows.reduce((s, r) => s + BigInt(r["fee_minor"] ?? "0"), 0n));
    void inflateSync;
  });
});
