/**
 * The finance reports, parsed back: the detail CSV starts with a UTF-8 BOM, keeps a Chinese
 * merchant id intact, neutralises a formula-looking cell, types every line, and its net per batch
 * equals the batch's net (less the carried-in amount) and what the ledger moved; a paid-out batch
 * ends with a payout line of minus the payout, so its lines sum to what the merchant's payable
 * account moved; the JSON report carries the same lines.
 */
import { buffer, text } from "node:stream/consumers";
import { parse } from "csv-parse/sync";
import { parseDecimal } from "@tributary/money";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { closeBusinessDay } from "../src/app/close-business-day.js";
import { recordCapture } from "../src/app/record-capture.js";
import { recordRefund } from "../src/app/record-refund.js";
import { instructPayout } from "../src/app/instruct-payout.js";
import { updateBatchStatus } from "../src/adapters/db/pg-batches.js";
import { setPayoutAccount } from "../src/adapters/db/pg-payouts.js";
import { exportBatchSummaryCsv } from "../src/adapters/reports/batch-summary.js";
import { exportDetailCsv, exportDetailJson } from "../src/adapters/reports/export-report.js";
import { exportDetailXlsx } from "../src/adapters/reports/export-xlsx.js";
import { reportDetailRows } from "../src/adapters/reports/report-rows.js";
import ExcelJS from "exceljs";
import { renderHtmlReport } from "../src/adapters/reports/html-report.js";
import type { SettlementBatch } from "../src/domain/settlement-batch.js";
import { captureOf, inTransaction, settlementDatabaseUrl, testDeps } from "./ledger-test-env.js";
import { newEventId } from "@tributary/events";

let pool: pg.Pool;
const deps = testDeps();
const DAY = "2025-10-01";
const suffix = newEventId().slice(-6);
const chinese = `杭州小商品店-${suffix}`;
const formula = `=HYPERLINK("http://x","点我")-${suffix}`;
/** A merchant whose batch is reconciled and paid out, so its detail lines end with a payout line. */
const payee = `payee-${suffix}`;
let batches: SettlementBatch[] = [];
let paidOut: SettlementBatch;
let payoutId: string;

function minor(textValue: string): bigint {
  const parsed = parseDecimal(textValue, "CNY");
  if (!parsed.ok) throw new Error(`not an amount: ${textValue}`);
  return parsed.value.amountMinor;
}

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: settlementDatabaseUrl(), max: 4 });
  await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(payee, 88800n, { provider: "alipay", at: new Date(`${DAY}T12:00:00.000+08:00`) })));
  for (const merchant of [chinese, formula]) {
    const capture = captureOf(merchant, 129902n, { provider: "alipay", at: new Date(`${DAY}T09:30:00.000+08:00`) });
    await inTransaction(pool, (tx) => recordCapture(deps, tx, capture));
    await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 5000n, { provider: "alipay", at: new Date(`${DAY}T10:00:00.000+08:00`) })));
    await inTransaction(pool, (tx) =>
      recordRefund(deps, tx, { orderId: capture.orderId, paymentId: capture.paymentId, refundRef: "r1", amountMinor: 29902n, currency: "CNY", eventId: undefined, providerRefundId: `RF-${suffix}`, at: new Date(`${DAY}T11:00:00.000+08:00`) }),
    );
  }
  const closed = await inTransaction(pool, (tx) => closeBusinessDay(deps, tx, { provider: "alipay", businessDate: DAY }));
  if (!closed.ok) throw new Error(closed.error.message);
  batches = closed.value.batches.filter((b) => b.merchantId === chinese || b.merchantId === formula || b.merchantId === payee);
  const payeeBatch = batches.find((b) => b.merchantId === payee)!;
  // Only this batch is reconciled (reconciling the whole alipay day would change the others' status).
  await inTransaction(pool, async (tx) => {
    await updateBatchStatus(tx, payeeBatch.batchId, { status: "reconciled", at: new Date() });
    await setPayoutAccount(tx, payee, "CNY", `6222-${suffix}`);
  });
  const paid = await inTransaction(pool, (tx) => instructPayout(deps, tx, { batchId: payeeBatch.batchId, instructedBy: "report-test", mayAct: () => true }));
  if (!paid.ok) throw new Error(paid.error.message);
  paidOut = paid.value.batch;
  payoutId = paid.value.payout.payoutId;
  batches = batches.map((b) => (b.batchId === paidOut.batchId ? paidOut : b));
});

/** What the batch's lines must sum to: its net less the carried-in amount, less the payout if paid out. */
function linesNet(batch: SettlementBatch): bigint {
  return batch.netMinor - batch.carriedInMinor - (batch.status === "paid_out" ? batch.payableMinor : 0n);
}
afterAll(async () => {
  await pool.end();
});

describe("detail report", () => {
  it("CSV: BOM, Chinese intact, formulas neutralised, typed lines, net per batch equal to the batch", async () => {
    // Bytes, not text: a TextDecoder would drop the BOM this checks for.
    const bytes = await buffer(exportDetailCsv(pool, { businessDate: DAY, provider: "alipay" }));
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse<Record<string, string>>(bytes, { bom: true, columns: true });
    const ours = rows.filter((r) => r["merchant_id"] === chinese || r["merchant_id"] === `'${formula}` || r["merchant_id"] === payee);
    expect(ours).toHaveLength(8);
    expect(rows.some((r) => r["merchant_id"] === formula)).toBe(false);
    const chineseRows = ours.filter((r) => r["merchant_id"] === chinese);
    expect(chineseRows.map((r) => r["record_type"]).sort()).toEqual(["payment", "payment", "refund"]);
    const payment = chineseRows.find((r) => r["gross"] === "1299.02")!;
    expect(payment).toMatchObject({ fee_rate: "0.60%", provider_fee: "-7.79", platform_fee: "-6.50", net: "1284.73", booked_at_asia_shanghai: `${DAY} 09:30:00.000`, status: "closed" });
    const refund = chineseRows.find((r) => r["record_type"] === "refund")!;
    expect(refund).toMatchObject({ gross: "-299.02", provider_fee: "1.79", platform_fee: "1.50", provider_transaction_id: `RF-${suffix}`, original_transaction_id: payment["provider_transaction_id"] });
    for (const batch of batches) {
      const merchantCell = batch.merchantId === formula ? `'${formula}` : batch.merchantId;
      const net = ours.filter((r) => r["merchant_id"] === merchantCell).reduce((s, r) => s + minor(r["net"]!), 0n);
      expect(net).toBe(linesNet(batch));
      const gross = ours.filter((r) => r["merchant_id"] === merchantCell && r["record_type"] === "payment").reduce((s, r) => s + minor(r["gross"]!), 0n);
      expect(gross).toBe(batch.grossMinor);
    }
    expect(batches.map((b) => b.status).sort()).toEqual(["closed", "closed", "paid_out"]);
  });

  it("CSV: a paid-out batch ends with its payout line, and its lines sum to what the merchant's payable moved", async () => {
    const rows = parse<Record<string, string>>(await buffer(exportDetailCsv(pool, { businessDate: DAY, provider: "alipay", merchantId: payee })), { bom: true, columns: true });
    expect(rows.map((r) => r["record_type"])).toEqual(["payment", "payout"]);
    expect(paidOut.payableMinor).toBeGreaterThan(0n);
    expect(rows[1]).toMatchObject({
      batch_id: paidOut.batchId, provider_transaction_id: payoutId, original_transaction_id: "", merchant_order_ref: "",
      gross: "0.00", fee_rate: "", provider_fee: "0.00", platform_fee: "0.00", status: "paid_out",
    });
    expect(minor(rows[1]!["net"]!)).toBe(-paidOut.payableMinor);
    expect(rows[0]!["status"]).toBe("paid_out");
    // The merchant is new: its payable account holds exactly this batch's entries and the payout
    // (credit-negative, so the merchant's side is minus the balance).
    const { rows: ledger } = await pool.query<{ moved: string | null }>(
      "SELECT sum(amount_minor)::text AS moved FROM ledger_posting WHERE account_id = $1 AND NOT pending",
      [`merchant_payable:${payee}:CNY`],
    );
    const lines = rows.reduce((s, r) => s + minor(r["net"]!), 0n);
    expect(lines).toBe(-BigInt(ledger[0]!.moved!));
    expect(lines).toBe(linesNet(paidOut));
  });

  it("pages: a batch read in pages smaller than itself gives every line once, in order, the payout last", async () => {
    const all = async (pageSize?: number) => {
      const lines: string[] = [];
      for await (const row of reportDetailRows(pool, { businessDate: DAY, provider: "alipay" }, pageSize === undefined ? {} : { pageSize })) lines.push(`${row.batchId}/${row.recordType}/${row.providerTransactionId}/${row.netMinor}`);
      return lines;
    };
    const whole = await all();
    expect(whole.length).toBeGreaterThanOrEqual(7); // three merchants' payments and refunds, and the payout
    for (const pageSize of [1, 2, 3]) expect(await all(pageSize), `pages of ${pageSize}`).toEqual(whole);
  });

  it("JSON: the same lines and totals", async () => {
    const parsed = JSON.parse(await text(exportDetailJson(pool, { businessDate: DAY, provider: "alipay", merchantId: chinese }))) as Record<string, string>[];
    expect(parsed).toHaveLength(3);
    const batch = batches.find((b) => b.merchantId === chinese)!;
    expect(parsed.reduce((s, r) => s + minor(r["net"]!), 0n)).toBe(batch.netMinor);
    const payeeLines = JSON.parse(await text(exportDetailJson(pool, { businessDate: DAY, provider: "alipay", merchantId: payee }))) as Record<string, string>[];
    expect(payeeLines.map((r) => r["record_type"])).toEqual(["payment", "payout"]);
    expect(payeeLines.reduce((s, r) => s + minor(r["net"]!), 0n)).toBe(linesNet(paidOut));
  });
});

describe("summary report", () => {
  it("has a row per batch equal to the batch, and a provider-day row equal to their sum and to the detail lines", async () => {
    const rows = parse<Record<string, string>>(await buffer(exportBatchSummaryCsv(pool, { businessDate: DAY, provider: "alipay" })), { bom: true, columns: true });
    const batchRows = rows.filter((r) => r["level"] === "batch");
    const dayRows = rows.filter((r) => r["level"] === "provider_day");
    expect(dayRows).toHaveLength(1);
    for (const batch of batches) {
      const row = batchRows.find((r) => r["batch_id"] === batch.batchId)!;
      expect(row["merchant_id"]).toBe(batch.merchantId === formula ? `'${formula}` : batch.merchantId);
      expect({ gross: minor(row["gross"]!), net: minor(row["net"]!), payments: row["payment_count"] }).toEqual({ gross: batch.grossMinor, net: batch.netMinor, payments: batch.paymentCount.toString() });
    }
    for (const column of ["gross", "refunds", "provider_fees", "platform_fees", "net", "payable"]) {
      expect(minor(dayRows[0]![column]!)).toBe(batchRows.reduce((s, r) => s + minor(r[column]!), 0n));
    }
    const detail = parse<Record<string, string>>(await buffer(exportDetailCsv(pool, { businessDate: DAY, provider: "alipay" })), { bom: true, columns: true });
    // Paid-out batches' payout lines take their payable out of the detail lines' sum.
    const paidOutPayable = batchRows.filter((r) => r["status"] === "paid_out").reduce((s, r) => s + minor(r["payable"]!), 0n);
    expect(batchRows.find((r) => r["batch_id"] === paidOut.batchId)!["status"]).toBe("paid_out");
    expect(detail.reduce((s, r) => s + minor(r["net"]!), 0n)).toBe(minor(dayRows[0]!["net"]!) - batchRows.reduce((s, r) => s + minor(r["carried_in"]!), 0n) - paidOutPayable);
  });
});

describe("XLSX detail report", () => {
  it("has typed numeric amount cells that sum to each batch's net, and text cells that stay text", async () => {
    const workbook = new ExcelJS.Workbook();
    const file = await buffer(exportDetailXlsx(pool, { businessDate: DAY, provider: "alipay" }));
    // ExcelJS types its input as an ArrayBuffer-backed Buffer.
    await workbook.xlsx.load(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength));
    const sheet = workbook.worksheets[0]!;
    const header = (sheet.getRow(1).values as unknown[]).slice(1) as string[];
    const col = (name: string): number => header.indexOf(name) + 1;
    const lines: { merchant: unknown; net: unknown; gross: unknown; type: unknown }[] = [];
    sheet.eachRow((row, index) => {
      if (index === 1) return;
      lines.push({ merchant: row.getCell(col("merchant_id")).value, net: row.getCell(col("net")).value, gross: row.getCell(col("gross")).value, type: row.getCell(col("record_type")).value });
    });
    const ours = lines.filter((l) => l.merchant === chinese || l.merchant === formula || l.merchant === payee);
    expect(ours).toHaveLength(8);
    expect(ours.filter((l) => l.type === "payout").map((l) => l.merchant)).toEqual([payee]);
    // A formula-looking id is a plain string cell, never a formula: XLSX types it, nothing to neutralise.
    expect(lines.some((l) => l.merchant === formula)).toBe(true);
    for (const line of ours) expect(typeof line.net).toBe("number");
    expect(ours.some((l) => l.gross === 1299.02)).toBe(true);
    for (const batch of batches) {
      const net = ours.filter((l) => l.merchant === batch.merchantId).reduce((s, l) => s + BigInt(Math.round((l.net as number) * 100)), 0n);
      expect(net).toBe(linesNet(batch));
    }
  });
});

describe("HTML report", () => {
  it("is one offline page with server-rendered SVG charts and the exact amounts, Chinese intact, ids escaped", async () => {
    const html = await renderHtmlReport(pool, { fromDate: DAY, toDate: DAY });
    expect(html.match(/<svg/g)?.length).toBe(3);
    // Offline: no script and nothing fetched from elsewhere.
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    expect(html).toContain(chinese);
    // The merchant id with quotes appears only escaped, in the table and the chart's labels.
    expect(html).not.toContain(formula);
    expect(html).toContain(formula.replaceAll('"', "&quot;"));
    const batch = batches.find((b) => b.merchantId === chinese)!;
    const net = `${batch.netMinor / 100n}.${String(batch.netMinor % 100n).padStart(2, "0")}`;
    expect(html).toContain(`<td>${chinese}</td><td class="n">${net}</td>`);
  });
});
