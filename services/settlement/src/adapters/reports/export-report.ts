import { Readable } from "node:stream";
import type { ProviderId } from "@tributary/contracts";
import { stringify } from "csv-stringify";
import type { Queryable } from "../db/pg-ledger.js";
import { DETAIL_COLUMNS, detailCells, reportDetailRows } from "./report-rows.js";

/** The report's scope: one business date, optionally one provider and/or merchant. */
export interface ReportFilter {
  readonly businessDate: string;
  readonly provider?: ProviderId | undefined;
  readonly merchantId?: string | undefined;
}

/** Columns holding free text (ids from events, merchant names): the ones a formula can hide in. */
const TEXT_COLUMNS: ReadonlySet<string> = new Set([
  "batch_id",
  "merchant_id",
  "provider_transaction_id",
  "merchant_order_ref",
  "original_transaction_id",
]);

/**
 * Neutralises a text cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first),
 * by prefixing `'` (OWASP's CSV injection advice). Applied to text columns only: csv-stringify's
 * own `escape_formulas` would also turn every negative amount ("-12.34") into text.
 */
export function neutraliseFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/**
 * The detail report as CSV for Excel: UTF-8 with a BOM (so Chinese merchant names open intact),
 * CRLF, every cell quoted when it needs to be, formula-looking text neutralised, amounts exact
 * decimal text. A stream: rows are read from the database in pages as the consumer pulls.
 */
export function exportDetailCsv(db: Queryable, filter: ReportFilter): Readable {
  const csv = stringify({ bom: true, header: true, columns: [...DETAIL_COLUMNS], record_delimiter: "windows" });
  const rows = Readable.from(
    (async function* () {
      for await (const row of reportDetailRows(db, filter)) {
        const cells = detailCells(row);
        for (const column of TEXT_COLUMNS) {
          const key = column as keyof typeof cells;
          cells[key] = neutraliseFormula(cells[key]);
        }
        yield cells;
      }
    })(),
  );
  rows.on("error", (error) => csv.destroy(error));
  return rows.pipe(csv);
}

/**
 * The detail report as JSON: one array of objects with the CSV's columns (amounts as decimal
 * strings, never numbers), streamed element by element.
 */
export function exportDetailJson(db: Queryable, filter: ReportFilter): Readable {
  return Readable.from(
    (async function* () {
      yield "[";
      let first = true;
      for await (const row of reportDetailRows(db, filter)) {
        yield `${first ? "" : ","}\n${JSON.stringify(detailCells(row))}`;
        first = false;
      }
      yield "\n]\n";
    })(),
  );
}
