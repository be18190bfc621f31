import { Readable } from "node:stream";
import { parse, type CsvError, type Options } from "csv-parse";
import iconv from "iconv-lite";
import { err, ok, type Result } from "@tributary/result";
import { parseDecimal, parseDecimalScaled } from "@tributary/money";
import type { BillRejection, BillRejectionReason } from "../domain/bill.js";
import { shanghaiWallClock } from "../domain/shanghai-calendar.js";

export { shanghaiDayBounds } from "../domain/shanghai-calendar.js";

/**
 * Thrown inside a parser at the first fault and turned into a {@link BillRejection} value at the
 * parser's edge ({@link rejectOnFormatError}), so a row deep in a stream can stop the whole bill.
 */
export class BillFormatError extends Error {
  constructor(
    readonly reason: BillRejectionReason,
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly field: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = "BillFormatError";
  }
}

/** Runs a parser body and returns its result, or the rejection it raised; other errors rethrow. */
export async function rejectOnFormatError<T>(body: () => Promise<T>): Promise<Result<T, BillRejection>> {
  try {
    return ok(await body());
  } catch (error) {
    if (error instanceof BillFormatError) {
      return err({
        code: "malformed_bill",
        reason: error.reason,
        file: error.file,
        line: error.line,
        column: error.column,
        field: error.field,
        message: error.message,
      });
    }
    throw error;
  }
}

/** Bytes a parser reads: a whole buffer or a stream of chunks (a file being read). */
export type BillBytes = Uint8Array | AsyncIterable<Uint8Array>;

function readableOf(bytes: BillBytes): Readable {
  return bytes instanceof Uint8Array ? Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]) : Readable.from(bytes);
}

/** Told the number of lines read so far, every {@link PROGRESS_EVERY} lines (a CLI's progress bar). */
export type ProgressListener = (lines: number) => void;

/** How often a parser reports progress, in lines. */
export const PROGRESS_EVERY = 10_000;

/** One tokenised CSV record with its 1-based line number. */
export interface CsvRecord {
  readonly cells: readonly string[];
  readonly line: number;
}

/**
 * Streams the records of a CSV bill: bytes decoded by iconv-lite (UTF-8 or GBK), one record at a
 * time with its line number. A cell holding U+FFFD means bytes that are not valid in the bill's
 * encoding (no real bill carries the replacement character), so the bill is refused there.
 * Quoted formats (Alipay, ours) are tokenised by csv-parse. A format without quoting (WeChat:
 * `quote: false`, where a `"` is text and a comma always separates) is split on commas line by
 * line from node:readline instead — the exact tokeniser for it, and measured six times faster
 * than csv-parse on a 100,000-line WeChat bill (README).
 */
export async function* csvRecords(
  bytes: BillBytes,
  options: { readonly file: string; readonly encoding: "utf8" | "gbk"; readonly quote: boolean; readonly onProgress?: ProgressListener | undefined },
): AsyncGenerator<CsvRecord> {
  if (!options.quote) {
    yield* splitRecords(bytes, options);
    return;
  }
  // on_record hands each record over with its line number, cheaper than `info: true` (which
  // copies the whole info object per record).
  const csvOptions: Options<{ record: string[]; line: number }, string[]> = {
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    on_record: (record, context) => ({ record, line: context.lines }),
    ...(options.quote ? {} : { quote: false }),
  };
  // The typings tie on_record's result to the record type; the runtime passes whatever it returns on.
  const parser = parse(csvOptions as unknown as Options);
  const decoded = readableOf(bytes).pipe(iconv.decodeStream(options.encoding));
  decoded.on("error", (error: Error) => parser.destroy(error));
  decoded.pipe(parser);
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; line: number }>) {
      const { record, line } = item;
      for (let i = 0; i < record.length; i++) {
        if ((record[i] ?? "").includes("\uFFFD")) {
          throw new BillFormatError("encoding", options.file, line, i + 1, undefined, `bytes that are not ${options.encoding === "gbk" ? "GBK" : "UTF-8"}`);
        }
      }
      if (line % PROGRESS_EVERY === 0) options.onProgress?.(line);
      yield { cells: record, line };
    }
  } catch (error) {
    if (error instanceof BillFormatError) throw error;
    const csv = error as Partial<CsvError> & { lines?: number };
    if (typeof csv.code === "string") {
      throw new BillFormatError("bad_row", options.file, csv.lines ?? 0, 0, undefined, `not CSV: ${csv.message ?? csv.code}`);
    }
    throw error;
  }
}

async function* splitRecords(bytes: BillBytes, options: { readonly file: string; readonly encoding: "utf8" | "gbk"; readonly onProgress?: ProgressListener | undefined }): AsyncGenerator<CsvRecord> {
  for await (const batch of unquotedCsvRecordBatches(bytes, options)) yield* batch;
}

/**
 * The records of a CSV bill without quoting (WeChat's), a batch per decoded piece of the file
 * (~64 KiB, a few hundred lines) instead of one await per record: the same records, line numbers,
 * encoding check and progress as {@link csvRecords} with `quote: false`. Lines end at CRLF, LF or
 * a lone CR (as node:readline splits them, a CRLF torn across two pieces included); empty lines
 * are counted and skipped. On a million-line bill the per-line async iteration (readline's
 * events, the iterator's promise per line) was a fifth of the parse.
 */
export async function* unquotedCsvRecordBatches(
  bytes: BillBytes,
  options: { readonly file: string; readonly encoding: "utf8" | "gbk"; readonly onProgress?: ProgressListener | undefined },
): AsyncGenerator<CsvRecord[]> {
  let line = 0;
  const recordsOf = (lines: readonly string[]): CsvRecord[] => {
    const records: CsvRecord[] = [];
    for (const text of lines) {
      line++;
      if (line % PROGRESS_EVERY === 0) options.onProgress?.(line);
      const content = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
      if (content === "") continue;
      const cells = content.split(",");
      if (content.includes("\uFFFD")) {
        const column = cells.findIndex((c) => c.includes("\uFFFD")) + 1;
        throw new BillFormatError("encoding", options.file, line, column, undefined, `bytes that are not ${options.encoding === "gbk" ? "GBK" : "UTF-8"}`);
      }
      records.push({ cells, line });
    }
    return records;
  };
  let rest = "";
  for await (const piece of readableOf(bytes).pipe(iconv.decodeStream(options.encoding)) as AsyncIterable<string>) {
    const text = rest + piece;
    // A CR at the end may be the first half of a CRLF whose LF comes with the next piece.
    const end = text.charCodeAt(text.length - 1) === CR ? text.length - 1 : text.length;
    const lines = text.slice(0, end).split(LINE_BREAK);
    rest = (lines.pop() ?? "") + text.slice(end);
    const records = recordsOf(lines);
    if (records.length > 0) yield records;
  }
  // What is left: a last line without its break, or a lone CR (a break before nothing).
  const last = rest.split(LINE_BREAK);
  if (last.at(-1) === "") last.pop();
  const records = recordsOf(last);
  if (records.length > 0) yield records;
}

const CR = 0x0d;
/** node:readline's line break with `crlfDelay: Infinity`. */
const LINE_BREAK = /\r\n|\n|\r/;

/**
 * A yuan amount with at most two decimals, exactly, as fen ("-12.34" → -1234n). Anything else
 * (empty, exponent, three decimals, grouping commas) refuses the bill at that cell.
 */
export function yuanCell(text: string, at: CellAt): bigint {
  const parsed = parseDecimal(text, "CNY");
  if (!parsed.ok) throw new BillFormatError("bad_amount", at.file, at.line, at.column, at.field, `${JSON.stringify(text)} is not a yuan amount (${parsed.error.code})`);
  return parsed.value.amountMinor;
}

/**
 * A decimal with up to `scale` decimals that must be a whole number of fen (WeChat's fee column
 * "7.79000"). A fee with sub-fen digits refuses the bill rather than being rounded: no rounding
 * rule of ours should decide what the provider charged.
 */
export function scaledFenCell(text: string, scale: number, at: CellAt): bigint {
  const parsed = parseDecimalScaled(text, scale);
  if (!parsed.ok) throw new BillFormatError("bad_amount", at.file, at.line, at.column, at.field, `${JSON.stringify(text)} is not an amount with ${scale} decimals (${parsed.error.code})`);
  const unit = 10n ** BigInt(scale - 2);
  if (parsed.value % unit !== 0n) throw new BillFormatError("bad_amount", at.file, at.line, at.column, at.field, `${JSON.stringify(text)} is not a whole number of fen`);
  return parsed.value / unit;
}

/** An integer of fen ("-29902"). */
export function fenCell(text: string, at: CellAt): bigint {
  if (!/^-?(0|[1-9][0-9]{0,17})$/.test(text)) throw new BillFormatError("bad_amount", at.file, at.line, at.column, at.field, `${JSON.stringify(text)} is not an integer of fen`);
  return BigInt(text);
}

/**
 * {@link yuanCell} and {@link scaledFenCell} with the location as plain arguments, for per-row hot
 * paths: nothing is allocated unless the cell is bad.
 */
export function yuanAt(text: string, file: string, line: number, column: number, field: string): bigint {
  const parsed = parseDecimal(text, "CNY");
  if (parsed.ok) return parsed.value.amountMinor;
  return yuanCell(text, { file, line, column, field });
}

/** 10^(scale − 2) for the scales bills use, made once instead of per cell. */
const FEN_UNITS: readonly (bigint | undefined)[] = Array.from({ length: 10 }, (_, scale) => (scale < 2 ? undefined : 10n ** BigInt(scale - 2)));

/** See {@link yuanAt}. */
export function scaledFenAt(text: string, scale: number, file: string, line: number, column: number, field: string): bigint {
  const parsed = parseDecimalScaled(text, scale);
  const unit = FEN_UNITS[scale] ?? 10n ** BigInt(scale - 2);
  if (parsed.ok && parsed.value % unit === 0n) return parsed.value / unit;
  return scaledFenCell(text, scale, { file, line, column, field });
}

/** Where a cell is, for an error. */
export interface CellAt {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly field: string | undefined;
}

const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;

/**
 * Parses Asia/Shanghai wall-clock time "yyyy-MM-dd HH:mm:ss" to epoch ms, refusing anything that
 * is not a real instant (2026-02-30, 24:00:00).
 */
export function shanghaiTimeCell(text: string, at: CellAt): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  const ms = m === null ? Number.NaN : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) - SHANGHAI_OFFSET_MS;
  if (m === null || Number.isNaN(ms) || shanghaiWallClock(ms) !== text) {
    throw new BillFormatError("bad_time", at.file, at.line, at.column, at.field, `${JSON.stringify(text)} is not a time yyyy-MM-dd HH:mm:ss`);
  }
  return ms;
}

/** Refuses a row dated outside the bill's day (Asia/Shanghai, cut-off 00:00). */
export function requireWithinDay(ms: number, bounds: { startMs: number; endMs: number }, day: string, at: CellAt): void {
  if (ms < bounds.startMs || ms >= bounds.endMs) {
    throw new BillFormatError("outside_bill_day", at.file, at.line, at.column, at.field, `booked ${shanghaiWallClock(ms)} (+08:00), outside the bill's day ${day}`);
  }
}

/** Column positions by header name: the bill's own header decides where each field is. */
export function columnIndex(header: readonly string[]): ReadonlyMap<string, number> {
  return new Map(header.map((name, i) => [name, i]));
}
