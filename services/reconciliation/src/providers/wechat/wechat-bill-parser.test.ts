import iconv from "iconv-lite";
import { describe, expect, it } from "vitest";
import { asExpected, expectedRows, fixture, sortExpected } from "../fixtures.test-support.js";
import { parseWechatTradeBill } from "./wechat-bill-parser.js";

const DAY = "2026-11-23";
const parse = (text: string | Buffer, file = "wechat.csv") =>
  parseWechatTradeBill({ bytes: typeof text === "string" ? Buffer.from(text, "utf8") : text, file, billDate: DAY });
const expected = expectedRows("wechat-expected.json");

async function rejection(text: string | Buffer) {
  const result = await parse(text);
  if (result.ok) throw new Error("expected a rejection");
  return result.error;
}

describe("WeChat trade bill parser on bills the sandbox wrote", () => {
  for (const columns of ["current", "legacy"]) {
    it(`ALL (${columns}) parses to exactly the processed payments and refunds`, async () => {
      const result = await parse(fixture(`wechat-all-${columns}.csv`));
      if (!result.ok) throw new Error(result.error.message);
      expect(sortExpected(result.value.rows.map(asExpected))).toEqual(expected);
      const big = result.value.rows.find((r) => r.amountMinor === 129902n);
      expect(big?.feeMinor).toBe(779n); // 1299.02 at 0.60% → 7.79, exactly
      expect(result.value.rows.find((r) => r.merchantRefundRef.endsWith("R2"))?.status).toBe("refund_processing");
      expect(result.value.rows[0]?.location).toEqual({ file: "wechat.csv", line: 2 });
    });
    it(`SUCCESS and REFUND (${columns}) hold their halves`, async () => {
      const success = await parse(fixture(`wechat-success-${columns}.csv`));
      const refund = await parse(fixture(`wechat-refund-${columns}.csv`));
      if (!success.ok || !refund.ok) throw new Error("did not parse");
      expect(sortExpected(success.value.rows.map(asExpected))).toEqual(expected.filter((r) => r.kind === "payment"));
      expect(sortExpected(refund.value.rows.map(asExpected))).toEqual(expected.filter((r) => r.kind === "refund"));
    });
  }

  it("maps columns by header name, not position", async () => {
    const text = fixture("wechat-all-current.csv").toString("utf8");
    const lines = text.split("\r\n");
    // Swap two columns in the header and in every detail row.
    const swap = (line: string): string => {
      const cells = line.split(",");
      [cells[5], cells[6]] = [cells[6] ?? "", cells[5] ?? ""];
      return cells.join(",");
    };
    const summaryAt = lines.findIndex((l) => l.startsWith("总交易单数"));
    const swapped = lines.map((l, i) => (i < summaryAt ? swap(l) : l)).join("\r\n");
    const a = await parse(text);
    const b = await parse(swapped);
    if (!a.ok || !b.ok) throw new Error("did not parse");
    expect(b.value.rows.map((r) => r.providerTxnId)).toEqual(a.value.rows.map((r) => r.providerTxnId));
  });
});

describe("WeChat trade bill parser refuses a malformed bill whole, with line and column", () => {
  const good = fixture("wechat-all-current.csv").toString("utf8");
  const lines = good.split("\r\n");
  const withLine = (i: number, line: string): string => lines.map((l, j) => (j === i ? line : l)).join("\r\n");
  const cellsOf = (i: number): string[] => (lines[i] ?? "").split(",");

  it("a bad amount", async () => {
    const cells = cellsOf(3);
    cells[12] = "`12.345";
    expect(await rejection(withLine(3, cells.join(",")))).toMatchObject({ reason: "bad_amount", line: 4, column: 13, field: "应结订单金额" });
  });
  it("a fee with sub-fen digits", async () => {
    const cells = cellsOf(2);
    cells[22] = "`1.05001";
    expect(await rejection(withLine(2, cells.join(",")))).toMatchObject({ reason: "bad_amount", line: 3, column: 23, field: "手续费" });
  });
  it("a summary that does not add up", async () => {
    const summaryAt = lines.findIndex((l) => l.startsWith("总交易单数"));
    const cells = cellsOf(summaryAt + 1);
    cells[1] = "`1.00";
    expect(await rejection(withLine(summaryAt + 1, cells.join(",")))).toMatchObject({ reason: "totals_mismatch", line: summaryAt + 2, column: 2, field: "应结订单总金额" });
  });
  it("a row count the summary does not state", async () => {
    const dropped = [...lines.slice(0, 2), ...lines.slice(3)].join("\r\n");
    expect(await rejection(dropped)).toMatchObject({ reason: "totals_mismatch", field: "总交易单数" });
  });
  it("a truncated bill (no summary, or cut inside a row)", async () => {
    expect(await rejection(lines.slice(0, 6).join("\r\n") + "\r\n")).toMatchObject({ reason: "truncated", line: 6 });
    expect(await rejection(good.slice(0, good.indexOf("\r\n", 600) - 40))).toMatchObject({ reason: "bad_row" });
  });
  it("a row outside the bill's day", async () => {
    const cells = cellsOf(2);
    cells[0] = "`2026-11-24 00:00:00";
    expect(await rejection(withLine(2, cells.join(",")))).toMatchObject({ reason: "outside_bill_day", line: 3, column: 1, field: "交易时间" });
  });
  it("a bill in the wrong encoding", async () => {
    const gbk = iconv.encode(good, "gbk");
    expect(await rejection(gbk)).toMatchObject({ reason: "encoding", line: 1 });
  });
  it("a data cell without its backtick, and a line after the summary", async () => {
    const cells = cellsOf(4);
    cells[6] = (cells[6] ?? "").slice(1);
    expect(await rejection(withLine(4, cells.join(",")))).toMatchObject({ reason: "bad_row", line: 5, column: 7 });
    expect(await rejection(good + "`extra\r\n")).toMatchObject({ reason: "bad_row", line: lines.length });
  });
  it("a header without a required column", async () => {
    expect(await rejection(withLine(0, (lines[0] ?? "").replace("商户订单号", "订单")))).toMatchObject({ reason: "bad_header", line: 1, field: "商户订单号" });
  });
});
