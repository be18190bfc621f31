import { Readable } from "node:stream";
import { stringify } from "csv-stringify";
import { formatDecimal, money } from "@tributary/money";
import { listBatches } from "../db/pg-batches.js";
import type { Queryable } from "../db/pg-ledger.js";
import type { SettlementBatch } from "../../domain/settlement-batch.js";
import { neutraliseFormula, type ReportFilter } from "./export-report.js";

/** Columns of the summary report: one row per batch, then one per provider and currency for the day. */
export const SUMMARY_COLUMNS = [
  "level",
  "provider",
  "business_date",
  "settlement_date",
  "merchant_id",
  "batch_id",
  "status",
  "currency",
  "payment_count",
  "refund_count",
  "gross",
  "refunds",
  "provider_fees",
  "platform_fees",
  "adjustments",
  "reserve_withheld",
  "reserve_released",
  "carried_in",
  "net",
  "payable",
  "carried_forward",
] as const;

type SummaryCells = Record<(typeof SUMMARY_COLUMNS)[number], string>;

function cells(level: "batch" | "provider_day", b: SettlementBatch): SummaryCells {
  const m = (amountMinor: bigint): string => formatDecimal(money(amountMinor, b.currency));
  return {
    level,
    provider: b.provider,
    business_date: b.businessDate,
    settlement_date: b.settlementDate,
    merchant_id: level === "batch" ? neutraliseFormula(b.merchantId) : "",
    batch_id: level === "batch" ? b.batchId : "",
    status: level === "batch" ? b.status : "",
    currency: b.currency,
    payment_count: b.paymentCount.toString(),
    refund_count: b.refundCount.toString(),
    gross: m(b.grossMinor),
    refunds: m(b.refundsMinor),
    provider_fees: m(b.providerFeesMinor),
    platform_fees: m(b.platformFeesMinor),
    adjustments: m(b.adjustmentsMinor),
    reserve_withheld: m(b.reserveWithheldMinor),
    reserve_released: m(b.reserveReleasedMinor),
    carried_in: m(b.carriedInMinor),
    net: m(b.netMinor),
    payable: m(b.payableMinor),
    carried_forward: m(b.carriedForwardMinor),
  };
}

/** The sum of batches of one provider and currency, as a pseudo-batch for the provider_day row. */
function total(batches: readonly SettlementBatch[]): SettlementBatch {
  const first = batches[0];
  if (first === undefined) throw new Error("total of no batches");
  const sum = (pick: (b: SettlementBatch) => bigint): bigint => batches.reduce((s, b) => s + pick(b), 0n);
  return {
    ...first,
    paymentCount: sum((b) => b.paymentCount),
    refundCount: sum((b) => b.refundCount),
    grossMinor: sum((b) => b.grossMinor),
    refundsMinor: sum((b) => b.refundsMinor),
    providerFeesMinor: sum((b) => b.providerFeesMinor),
    merchantProviderFeesMinor: sum((b) => b.merchantProviderFeesMinor),
    platformFeesMinor: sum((b) => b.platformFeesMinor),
    adjustmentsMinor: sum((b) => b.adjustmentsMinor),
    reserveWithheldMinor: sum((b) => b.reserveWithheldMinor),
    reserveReleasedMinor: sum((b) => b.reserveReleasedMinor),
    carriedInMinor: sum((b) => b.carriedInMinor),
    netMinor: sum((b) => b.netMinor),
    payableMinor: sum((b) => b.payableMinor),
    carriedForwardMinor: sum((b) => b.carriedForwardMinor),
  };
}

/**
 * The summary of a business day as CSV (UTF-8 with BOM, CRLF): a row per batch, then per provider
 * and currency a `provider_day` row summing them. The batches of one day are at most merchants ×
 * providers rows, so they are read at once; the detail report is the one that streams.
 */
export function exportBatchSummaryCsv(db: Queryable, filter: ReportFilter): Readable {
  const csv = stringify({ bom: true, header: true, columns: [...SUMMARY_COLUMNS], record_delimiter: "windows" });
  const rows = Readable.from(
    (async function* () {
      const batches = await listBatches(db, filter);
      const groups = new Map<string, SettlementBatch[]>();
      for (const batch of batches) {
        yield cells("batch", batch);
        const key = `${batch.provider}/${batch.currency}`;
        groups.set(key, [...(groups.get(key) ?? []), batch]);
      }
      for (const group of groups.values()) yield cells("provider_day", total(group));
    })(),
  );
  rows.on("error", (error) => csv.destroy(error));
  return rows.pipe(csv);
}
