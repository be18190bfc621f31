import iconv from "iconv-lite";
import JSZip from "jszip";
import { describe, expect, it } from "vitest";
import { asExpected, expectedRows, fixture, sortExpected } from "../fixtures.test-support.js";
import { parseUnionpayFiles, parseUnionpaySettlement, ZM_FIELDS } from "./unionpay-zm-parser.js";

const DAY = "2026-11-23";
const ZM = "INN26112388ZM_777290058110097";
const ZME = "INN26112388ZME_777290058110097";
const zm = fixture(ZM);
const zme = fixture(ZME);
const parse = (zmBytes: Buffer, zmeBytes: Buffer | undefined = zme) =>
  parseUnionpayFiles({ zm: { name: ZM, bytes: zmBytes }, zme: zmeBytes === undefined ? undefined : { name: ZME, bytes: zmeBytes }, billDate: DAY });

/** The byte offset (1-based) of a ZM field. */
function offsetOf(name: string): number {
  let offset = 1;
  for (const f of ZM_FIELDS) {
    if (f.name === name) return offset;
    offset += f.width + 1;
  }
  throw new Error(name);
}

/** The ZM file with `bytes` written over record `record` (0-based) at field `name`. */
function patched(record: number, name: string, text: string, encoding = "ascii"): Buffer {
  const copy = Buffer.from(zm);
  const length = zm.indexOf("\r\n") + 2;
  Buffer.from(iconv.encode(text, encoding)).copy(copy, record * length + offsetOf(name) - 1);
  return copy;
}

async function rejection(bytes: Buffer) {
  const result = await parse(bytes);
  if (result.ok) throw new Error("expected a rejection");
  return result.error;
}

describe("UnionPay ZM / ZME parser", () => {
  it("parses the sandbox's ZM file to exactly the processed payments and refunds, and the ZME adjustment", async () => {
    const result = await parse(zm);
    if (!result.ok) throw new Error(result.error.message);
    const ordinary = result.value.rows.filter((r) => r.kind !== "adjustment");
    expect(sortExpected(ordinary.map(asExpected))).toEqual(expectedRows("unionpay-expected.json"));
    const adjustment = result.value.rows.find((r) => r.kind === "adjustment");
    expect(adjustment).toMatchObject({ amountMinor: -150n, feeMinor: 0n, status: "adjusted", location: { file: ZME, line: 1 } });
    expect(adjustment?.merchantOrderRef).toMatch(/^ORDER9/);
    const refund = ordinary.find((r) => r.kind === "refund");
    expect(refund?.providerTxnId).not.toBe("");
    expect(ordinary.find((r) => r.merchantOrderRef === refund?.merchantOrderRef && r.kind === "payment")?.providerTxnId).toBe(refund?.providerTxnId);
  });

  it("reads the archive fileTransfer's content unpacks to", async () => {
    const zip = new JSZip();
    zip.file(ZM, zm);
    zip.file(ZME, zme);
    const result = await parseUnionpaySettlement({ bytes: await zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE" }), file: "777290058110097_20261123.zip", billDate: DAY });
    expect(result.ok && result.value.rows.length).toBe(expectedRows("unionpay-expected.json").length + 1);
  });

  it("refuses a bad amount, inconsistent amounts and a record of another day, by byte offset", async () => {
    expect(await rejection(patched(1, "交易金额", "00000000001x"))).toMatchObject({ reason: "bad_amount", line: 2, column: offsetOf("交易金额"), field: "交易金额" });
    expect(await rejection(patched(1, "结算金额", "X"))).toMatchObject({ reason: "bad_amount", line: 2, field: "结算金额" });
    expect(await rejection(patched(2, "清算净额", "C999999999999"))).toMatchObject({ reason: "totals_mismatch", line: 3, field: "清算净额" });
    expect(await rejection(patched(0, "交易传输时间", "1124"))).toMatchObject({ reason: "outside_bill_day", line: 1, column: offsetOf("交易传输时间") });
  });

  it("refuses a truncated file and bytes that are not GBK", async () => {
    expect(await rejection(zm.subarray(0, zm.length - 50))).toMatchObject({ reason: "truncated", line: zm.toString("latin1").split("\r\n").length - 1 });
    expect(await rejection(patched(0, "商户自定义域", "\u00ff\u00ff", "latin1"))).toMatchObject({ reason: "encoding", line: 1, column: offsetOf("商户自定义域"), field: "商户自定义域" });
    // A GBK character moved across a field boundary changes the record's length.
    expect(await rejection(Buffer.concat([zm.subarray(0, 10), iconv.encode("中", "gbk"), zm.subarray(10)]))).toMatchObject({ reason: "bad_row", line: 1 });
  });
});
