import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { stringify } from "csv-stringify";
import type pg from "pg";
import { exportBatchSummaryCsv, exportDetailCsv, exportDetailJson, exportDetailXlsx, neutraliseFormula, renderHtmlReport } from "@tributary/settlement";
import { summaryJson, yuan, type DaySummary } from "./day-summary.js";

/**
 * Writes the day's reports to `<outDir>/<bill date>/` and returns their paths (relative to the
 * working directory): settlement's own finance reports (detail CSV, JSON and XLSX, batch summary
 * CSV, streamed from its database by its exported report functions, and its HTML overview with
 * server-rendered ECharts SVG charts), and the day run's summary as
 * JSON and as CSV tables (UTF-8 with BOM and CRLF, so Excel opens them with Chinese text intact).
 */
export async function writeDayReports(options: { readonly outDir: string; readonly summary: DaySummary; readonly settlementDb: pg.Pool }): Promise<string[]> {
  const dir = join(options.outDir, options.summary.billDate);
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const filter = { businessDate: options.summary.billDate };
  const stream = async (name: string, source: Readable): Promise<void> => {
    const path = join(dir, name);
    await pipeline(source, createWriteStream(path));
    written.push(path);
  };
  await stream("settlement-detail.csv", exportDetailCsv(options.settlementDb, filter));
  await stream("settlement-detail.json", exportDetailJson(options.settlementDb, filter));
  await stream("settlement-detail.xlsx", exportDetailXlsx(options.settlementDb, filter));
  await stream("settlement-batches.csv", exportBatchSummaryCsv(options.settlementDb, filter));
  const htmlPath = join(dir, "settlement-overview.html");
  writeFileSync(htmlPath, await renderHtmlReport(options.settlementDb, { fromDate: options.summary.billDate, toDate: options.summary.billDate }));
  written.push(htmlPath);

  const { summary } = options;
  await stream(
    "day-providers.csv",
    csvOf(
      ["provider", "routed", "captured", "gross", "payment_failures", "bill_rows", "ledger_records", "matched", "discrepancies", "bill_net", "ledger_net", "classes"],
      summary.providers.map((p) => [
        p.provider,
        p.routed,
        p.captured,
        yuan(p.grossMinor),
        p.paymentFailures,
        p.reconciliation?.billRows.toString() ?? "",
        p.reconciliation?.ledgerRecords.toString() ?? "",
        p.reconciliation?.matched.toString() ?? "",
        p.reconciliation?.discrepancies.toString() ?? "",
        p.reconciliation === undefined ? "" : yuan(p.reconciliation.billNetMinor),
        p.reconciliation === undefined ? "" : yuan(p.reconciliation.ledgerNetMinor),
        Object.entries(p.reconciliation?.classes ?? {}).map(([name, count]) => `${name}=${count}`).join(" "),
      ]),
    ),
  );
  await stream(
    "day-batches.csv",
    csvOf(
      ["batch_id", "merchant_id", "provider", "status", "payments", "gross", "provider_fees", "platform_fees", "net", "payable", "discrepancies", "held_for"],
      summary.batches.map((b) => [
        neutraliseFormula(b.batchId),
        neutraliseFormula(b.merchantId),
        b.provider,
        b.status,
        b.paymentCount.toString(),
        yuan(b.grossMinor),
        yuan(b.providerFeesMinor),
        yuan(b.platformFeesMinor),
        yuan(b.netMinor),
        yuan(b.payableMinor),
        b.discrepancyCount?.toString() ?? "",
        neutraliseFormula(b.heldFor.join("; ")),
      ]),
    ),
  );
  await stream(
    "day-discrepancies.csv",
    csvOf(
      ["provider", "class", "provider_transaction_id", "description"],
      summary.discrepancies.map((d) => [d.provider, d.discrepancyClass, neutraliseFormula(d.providerTransactionId), neutraliseFormula(d.description)]),
    ),
  );
  const jsonPath = join(dir, "day-summary.json");
  writeFileSync(jsonPath, `${JSON.stringify(summaryJson({ ...summary, reports: [...written, jsonPath].map((path) => relative(process.cwd(), path)) }), null, 2)}\n`);
  written.push(jsonPath);
  return written.map((path) => relative(process.cwd(), path));
}

/** Rows as CSV: csv-stringify, UTF-8 with BOM, CRLF, a header. */
function csvOf(columns: readonly string[], rows: readonly (readonly (string | number)[])[]): Readable {
  const csv = stringify({ bom: true, header: true, columns: [...columns], record_delimiter: "windows" });
  return Readable.from(rows).pipe(csv);
}
