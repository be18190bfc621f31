import { PassThrough, type Readable } from "node:stream";
import type { Queryable } from "../db/pg-ledger.js";
import { DETAIL_COLUMNS, detailCells, reportDetailRows } from "./report-rows.js";
import type { ReportFilter } from "./export-report.js";

/** The amount columns, written as typed numeric cells with two decimals. */
const AMOUNT_COLUMNS: ReadonlySet<string> = new Set(["gross", "provider_fee", "platform_fee", "net"]);

/**
 * An amount's exact decimal text as the number Excel stores. XLSX keeps a number cell as decimal
 * text (`<v>1299.02</v>`); the nearest double to "1299.02" serialises back to exactly that text,
 * so the file holds the ledger's amount to the fen. No arithmetic is ever done on the double.
 */
function amountCell(decimalText: string): number {
  return Number(decimalText);
}

/**
 * The detail report as XLSX: one sheet, a header row, amounts as numeric cells formatted `0.00`
 * (so Excel sums them), everything else as text. ExcelJS's streaming writer commits each row as
 * it goes, so the rows are never all in memory; the returned stream is the .xlsx file's bytes.
 */
export function exportDetailXlsx(db: Queryable, filter: ReportFilter): Readable {
  const output = new PassThrough();
  void (async () => {
    // ExcelJS is loaded on the first XLSX export, not with the package: it is ~15 MB of resident
    // code that the CSV and JSON exports, and a service that never writes a workbook, would carry.
    const { default: ExcelJS } = await import("exceljs");
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: output, useStyles: true, useSharedStrings: false });
    const sheet = workbook.addWorksheet(`settlement ${filter.businessDate}`);
    sheet.columns = DETAIL_COLUMNS.map((key) => ({ header: key, key, width: AMOUNT_COLUMNS.has(key) ? 14 : 22, ...(AMOUNT_COLUMNS.has(key) ? { style: { numFmt: "0.00" } } : {}) }));
    for await (const row of reportDetailRows(db, filter)) {
      const cells = detailCells(row);
      const values: Record<string, string | number> = {};
      for (const key of DETAIL_COLUMNS) values[key] = AMOUNT_COLUMNS.has(key) ? amountCell(cells[key]) : cells[key];
      sheet.addRow(values).commit();
    }
    sheet.commit();
    await workbook.commit();
  })().catch((error: unknown) => output.destroy(error instanceof Error ? error : new Error(String(error))));
  return output;
}
