/**
 * Finance's batch reads (ListBatches, GetBatch) through Prisma Client on `@prisma/adapter-pg`: the
 * cold query side, typed from prisma/schema.prisma, on its own small pg pool. Postings, closes and
 * payouts stay SQL through pg (`pg-ledger.ts`, `pg-batches.ts`): they need multi-row INSERTs,
 * row locks and the ledger's commit-time checks in one transaction.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import type { ProviderId } from "@tributary/contracts";
import { parseCurrencyCode } from "@tributary/money";
import pg from "pg";
import type { SettlementBatch } from "../../domain/settlement-batch.js";
import { PrismaClient, type SettlementBatch as BatchRow } from "../../gen/prisma/client.js";

/** The batch reads the gRPC adapter serves finance from. */
export interface BatchReads {
  /** Batches of one business date, optionally one provider and/or merchant, by provider, merchant, currency. */
  listBatches(filter: { readonly businessDate: string; readonly provider?: ProviderId | undefined; readonly merchantId?: string | undefined }): Promise<SettlementBatch[]>;
  /** One batch by id. */
  getBatch(batchId: string): Promise<SettlementBatch | undefined>;
  stop(): Promise<void>;
}

/** A DATE column as Prisma returns it (midnight UTC) → "YYYY-MM-DD". */
function dateText(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function toBatch(row: BatchRow): SettlementBatch {
  const currency = parseCurrencyCode(row.currency);
  if (!currency.ok) throw new Error(`settlement_batch ${row.batchId} has currency ${row.currency}`);
  return {
    batchId: row.batchId,
    merchantId: row.merchantId,
    provider: row.provider,
    businessDate: dateText(row.businessDate),
    settlementDate: dateText(row.settlementDate),
    currency: currency.value,
    status: row.status,
    paymentCount: row.paymentCount,
    refundCount: row.refundCount,
    grossMinor: row.grossMinor,
    refundsMinor: row.refundsMinor,
    providerFeesMinor: row.providerFeesMinor,
    // Not stored: what the net took for provider fees is the rest of the net's terms (as in pg-batches.ts).
    merchantProviderFeesMinor:
      row.grossMinor - row.refundsMinor - row.platformFeesMinor + row.adjustmentsMinor - row.reserveWithheldMinor + row.reserveReleasedMinor + row.carriedInMinor - row.netMinor,
    platformFeesMinor: row.platformFeesMinor,
    adjustmentsMinor: row.adjustmentsMinor,
    reserveWithheldMinor: row.reserveWithheldMinor,
    reserveReleasedMinor: row.reserveReleasedMinor,
    carriedInMinor: row.carriedInMinor,
    netMinor: row.netMinor,
    payableMinor: row.payableMinor,
    carriedForwardMinor: row.carriedForwardMinor,
    closedAt: row.closedAt,
    reconciliationId: row.reconciliationId ?? undefined,
    discrepancyCount: row.discrepancyCount ?? undefined,
  };
}

/** Opens the Prisma read side on its own pool (connects lazily). */
export function createPrismaBatchReads(options: { readonly databaseUrl: string; readonly poolSize?: number; readonly onPoolError?: (error: Error) => void }): BatchReads {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 2 });
  pool.on("error", (error) => options.onPoolError?.(error));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { onPoolError: (error) => options.onPoolError?.(error) }) });
  return {
    async listBatches(filter) {
      const rows = await prisma.settlementBatch.findMany({
        where: {
          businessDate: new Date(`${filter.businessDate}T00:00:00.000Z`),
          ...(filter.provider === undefined ? {} : { provider: filter.provider }),
          ...(filter.merchantId === undefined ? {} : { merchantId: filter.merchantId }),
        },
        orderBy: [{ provider: "asc" }, { merchantId: "asc" }, { currency: "asc" }],
      });
      return rows.map(toBatch);
    },
    async getBatch(batchId) {
      const row = await prisma.settlementBatch.findUnique({ where: { batchId } });
      return row === null ? undefined : toBatch(row);
    },
    async stop() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
