import { crc32 } from "node:zlib";
import iconv from "iconv-lite";
import JSZip from "jszip";
import { describe, expect, it } from "vitest";
import { asExpected, expectedRows, fixture, sortExpected } from "../fixtures.test-support.js";
import { parseAlipayTradeBill } from "./alipay-bill-parser.js";

const DAY = "2026-11-23";
const ZIP = "20880000000000010156_20261123.csv.zip";
const DETAIL = "20880000000000010156_20261123_业务明细.csv";
const parse = (bytes: Uint8Array) => parseAlipayTradeBill({ bytes, file: ZIP, billDate: DAY });

async function detailText(): Promise<string> {
  const zip = await JSZip.loadAsync(fixture(ZIP), { decodeFileName: (b) => iconv.decode(Buffer.from(b as Uint8Array), "gbk") });
  const entry = zip.file(DETAIL);
  if (entry === null) throw new Error("fixture has no detail entry");
  return iconv.decode(await entry.async("nodebuffer"), "gbk");
}

/** Re-zips a detail text the way the sandbox does (GBK content and names, JSZip). */
async function zipOf(text: string, encoding = "gbk"): Promise<Buffer> {
  const zip = new JSZip();
  zip.file(DETAIL, iconv.encode(text, encoding));
  return zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE", encodeFileName: (n: string) => iconv.encode(n, "gbk").toString("latin1") });
}

/**
 * A stored (uncompressed) zip written by hand with a GBK entry name, the UTF-8 flag unset and no
 * unicode-path extra field, as Alipay's own archives are (JSZip always adds that field).
 */
function bareGbkZip(name: string, content: Buffer): Buffer {
  const nameBytes = iconv.encode(name, "gbk");
  const crc = crc32(content);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0, 6); local.writeUInt16LE(0, 8);
  local.writeUInt32LE(crc, 14); local.writeUInt32LE(content.length, 18); local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(nameBytes.length, 26); local.writeUInt16LE(0, 28);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(0, 8);
  central.writeUInt32LE(crc, 16); central.writeUInt32LE(content.length, 20); central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(nameBytes.length, 28); central.writeUInt32LE(0, 42);
  const centralOffset = local.length + nameBytes.length + content.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(1, 8); end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12); end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, nameBytes, content, central, nameBytes, end]);
}

async function rejection(bytes: Uint8Array) {
  const result = await parse(bytes);
  if (result.ok) throw new Error("expected a rejection");
  return result.error;
}

describe("Alipay trade bill parser", () => {
  it("parses the sandbox's GBK zip to exactly the processed trades and refunds", async () => {
    const result = await parse(fixture(ZIP));
    if (!result.ok) throw new Error(result.error.message);
    expect(sortExpected(result.value.rows.map(asExpected))).toEqual(expectedRows("alipay-expected.json"));
    expect(result.value.files).toEqual([DETAIL]);
    const refund = result.value.rows.find((r) => r.kind === "refund");
    expect(refund?.amountMinor).toBeLessThan(0n);
    expect(refund?.providerTxnId).toMatch(/^\d+$/); // the TAB suffix is gone
    expect(refund?.merchantRefundRef).toMatch(/R\d$/);
  });

  it("reads a GBK entry name with no unicode-path field, and other dash counts", async () => {
    const text = (await detailText()).replace(/^#-+业务明细列表-+$/m, "#---业务明细列表---").replace(/^#-+业务明细列表结束-+$/m, "#-业务明细列表结束-");
    const result = await parse(bareGbkZip(DETAIL, iconv.encode(text, "gbk")));
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.files).toEqual([DETAIL]);
    expect(result.value.rows.length).toBe(expectedRows("alipay-expected.json").length);
  });

  it("refuses footer totals that do not add up, naming the footer line", async () => {
    const text = await detailText();
    const lines = text.split("\r\n");
    const at = lines.findIndex((l) => l.startsWith("#交易合计"));
    const changed = lines.map((l, i) => (i === at ? l.replace(/商家实收共([\d.]+)元/, "商家实收共0.01元") : l)).join("\r\n");
    expect(await rejection(await zipOf(changed))).toMatchObject({ reason: "totals_mismatch", file: DETAIL, line: at + 1, field: "交易合计" });
    const counted = lines.map((l, i) => (i === at ? l.replace(/：\d+笔/, "：99笔") : l)).join("\r\n");
    expect(await rejection(await zipOf(counted))).toMatchObject({ reason: "totals_mismatch", line: at + 1 });
  });

  it("refuses a bad amount, a row outside the day, and another day's period", async () => {
    const lines = (await detailText()).split("\r\n");
    const cells = (lines[5] ?? "").split(",");
    const withRow = (row: string[]) => lines.map((l, i) => (i === 5 ? row.join(",") : l)).join("\r\n");
    expect(await rejection(await zipOf(withRow(cells.map((c, i) => (i === 11 ? "1,5" : c)))))).toMatchObject({ reason: "bad_row", line: 6 });
    expect(await rejection(await zipOf(withRow(cells.map((c, i) => (i === 11 ? "12.3.4" : c)))))).toMatchObject({ reason: "bad_amount", line: 6, column: 12, field: "订单金额（元）" });
    expect(await rejection(await zipOf(withRow(cells.map((c, i) => (i === 5 ? "2026-11-22 23:59:59" : c)))))).toMatchObject({ reason: "outside_bill_day", line: 6, column: 6 });
    const otherDay = lines.map((l, i) => (i === 2 ? l.replace("2026年11月23日 00:00:00", "2026年11月22日 00:00:00") : l)).join("\r\n");
    expect(await rejection(await zipOf(otherDay))).toMatchObject({ reason: "outside_bill_day", line: 3 });
  });

  it("refuses a truncated bill and a damaged archive", async () => {
    const lines = (await detailText()).split("\r\n");
    expect(await rejection(await zipOf(lines.slice(0, 9).join("\r\n")))).toMatchObject({ reason: "truncated", line: 9 });
    const end = lines.findIndex((l) => l.includes("业务明细列表结束"));
    expect(await rejection(await zipOf(lines.slice(0, end + 2).join("\r\n")))).toMatchObject({ reason: "truncated" });
    const whole = fixture(ZIP);
    expect(await rejection(whole.subarray(0, whole.length - 30))).toMatchObject({ reason: "bad_archive" });
  });

  it("refuses a bill that is not GBK", async () => {
    const text = await detailText();
    // UTF-8 bytes read as GBK: the header no longer names its columns (or the bytes are invalid).
    const error = await rejection(await zipOf(text, "utf8"));
    expect(["encoding", "bad_header"]).toContain(error.reason);
    const bad = Buffer.concat([iconv.encode(text.slice(0, 200), "gbk"), Buffer.from([0xff, 0xff]), iconv.encode(text.slice(200), "gbk")]);
    expect(await rejection(bareGbkZip(DETAIL, bad))).toMatchObject({ reason: "encoding" });
  });
});
