import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BillFormatError, unquotedCsvRecordBatches, type CsvRecord } from "./bill-reader.js";

/** The reading unquotedCsvRecordBatches replaced: node:readline line by line, split on commas. */
async function readlineRecords(pieces: readonly Buffer[]): Promise<CsvRecord[]> {
  const records: CsvRecord[] = [];
  let line = 0;
  const lines = createInterface({ input: Readable.from(pieces).setEncoding("utf8"), crlfDelay: Infinity });
  for await (const text of lines) {
    line++;
    const content = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    if (content !== "") records.push({ cells: content.split(","), line });
  }
  return records;
}

/**
 * The pieces as a stream that gives each one its own turn: a stream read while it has several
 * pieces buffered hands them over joined, and the cuts under test would never reach the reader.
 */
async function* oneAtATime(pieces: readonly Buffer[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) {
    yield piece;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function batchedRecords(pieces: readonly Buffer[], onProgress?: (lines: number) => void): Promise<{ records: CsvRecord[]; batches: number }> {
  const records: CsvRecord[] = [];
  let batches = 0;
  for await (const batch of unquotedCsvRecordBatches(oneAtATime(pieces), { file: "t.csv", encoding: "utf8", onProgress })) {
    expect(batch.length).toBeGreaterThan(0);
    batches++;
    records.push(...batch);
  }
  return { records, batches };
}

/** `text` as UTF-8 cut at the given byte offsets (a CRLF may fall across a cut). */
function piecesOf(text: string, cuts: readonly number[]): Buffer[] {
  const bytes = Buffer.from(text, "utf8");
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of at) {
    if (cut > from) pieces.push(bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
  if (from < bytes.length) pieces.push(bytes.subarray(from));
  return pieces;
}

describe("unquotedCsvRecordBatches", () => {
  it("gives node:readline's records and line numbers for any text cut anywhere: CRLF, LF, lone CR, empty lines, no final break (property)", async () => {
    const cell = fc.stringMatching(/^[`a-z0-9.\-微信 "]{0,6}$/);
    const lineText = fc.array(cell, { maxLength: 4 }).map((cells) => cells.join(","));
    const lineBreak = fc.constantFrom("\r\n", "\n", "\r", "\r\n", "\r\n\r\n");
    const text = fc.tuple(fc.array(fc.tuple(lineText, lineBreak), { maxLength: 12 }), lineText).map(([lines, last]) => lines.map(([l, b]) => l + b).join("") + last);
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(400), { maxLength: 6 }), async (bill, cuts) => {
        const pieces = piecesOf(bill, cuts);
        expect((await batchedRecords(pieces)).records).toEqual(await readlineRecords(pieces));
      }),
      { numRuns: 600 },
    );
  });

  it("hands over many records per batch, reports progress every 10,000 lines, and skips a BOM", async () => {
    const lines = Array.from({ length: 25_000 }, (_, i) => `\`${i},\`x`);
    const progress: number[] = [];
    const { records, batches } = await batchedRecords([Buffer.from(`\uFEFF${lines.join("\r\n")}\r\n`, "utf8")], (n) => progress.push(n));
    expect(records).toHaveLength(25_000);
    expect(records[0]).toEqual({ cells: ["`0", "`x"], line: 1 });
    expect(records.at(-1)).toEqual({ cells: ["`24999", "`x"], line: 25_000 });
    expect(batches).toBeLessThan(records.length / 100);
    expect(progress).toEqual([10_000, 20_000]);
  });

  it("refuses bytes that are not UTF-8 with the line and column", async () => {
    const bill = Buffer.concat([Buffer.from("a,b\r\nc,", "utf8"), Buffer.from([0xff, 0xfe]), Buffer.from("\r\n", "utf8")]);
    const failure = await batchedRecords([bill]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BillFormatError);
    expect(failure).toMatchObject({ reason: "encoding", line: 2, column: 2 });
  });
});
