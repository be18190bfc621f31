import { describe, expect, it } from "vitest";
import { asExpected, expectedRows, fixture, sortExpected } from "../fixtures.test-support.js";
import { parseGenericBill } from "./generic-bill-parser.js";

const DAY = "2026-11-23";
const good = fixture(`jdpay-${DAY}.csv`).toString("utf8");
const lines = good.split("\n");
const parse = (text: string, providerName = "jdpay") => parseGenericBill({ bytes: Buffer.from(text), file: "jdpay.csv", billDate: DAY, provider: "jd_pay", providerName });
const withLine = (i: number, line: string): string => lines.map((l, j) => (j === i ? line : l)).join("\n");
async function rejection(text: string, providerName?: string) {
  const result = await parse(text, providerName);
  if (result.ok) throw new Error("expected a rejection");
  return result.error;
}

describe("JD Pay / e-CNY bill parser", () => {
  it("parses the sandbox's bill to exactly the processed rows", async () => {
    const result = await parse(good);
    if (!result.ok) throw new Error(result.error.message);
    expect(sortExpected(result.value.rows.map(asExpected))).toEqual(expectedRows("jdpay-expected.json"));
  });
  it("refuses totals off, a bad amount, net ≠ amount − fee, another provider's bill, truncation", async () => {
    const trailerAt = lines.findIndex((l) => l.startsWith("#totals"));
    expect(await rejection(withLine(trailerAt, (lines[trailerAt] ?? "").replace(/fee_minor=-?\d+/, "fee_minor=1")))).toMatchObject({ reason: "totals_mismatch", line: trailerAt + 1, field: "fee_minor" });
    const cells = (lines[2] ?? "").split(",");
    expect(await rejection(withLine(2, cells.map((c, i) => (i === 6 ? "12.5" : c)).join(",")))).toMatchObject({ reason: "bad_amount", line: 3, column: 7, field: "amount_minor" });
    expect(await rejection(withLine(2, cells.map((c, i) => (i === 8 ? "1" : c)).join(",")))).toMatchObject({ reason: "totals_mismatch", line: 3, column: 9 });
    expect(await rejection(withLine(2, cells.map((c, i) => (i === 1 ? "2026-11-24T00:00:00.000+08:00" : c)).join(",")))).toMatchObject({ reason: "outside_bill_day", line: 3, column: 2 });
    expect(await rejection(good, "ecny")).toMatchObject({ reason: "bad_header", line: 1, field: "provider" });
    expect(await rejection(lines.slice(0, 5).join("\n"))).toMatchObject({ reason: "truncated", line: 5 });
  });
});
