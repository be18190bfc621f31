import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { PROVIDER_IDS, providerIdFromProto, providerIdToProto, type ProviderId } from "@tributary/contracts";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { RecordKind, SettlementRecordSchema, type SettlementRecord } from "@tributary/contracts/settlement/v1/settlement";
import { BatchEntrySchema, ReportFormat, ReportKind, type BatchEntry } from "@tributary/contracts/settlement/v1/settlement_service";
import type { SettlementService } from "@tributary/contracts/settlement/v1/settlement_service";
import { DomainFailure, grantCovers, grantOf, type Principal, type ServiceImplementation } from "@tributary/grpc";
import { err, ok, type Result } from "@tributary/result";
import type { Pool } from "pg";
import { isBusinessDate } from "../../domain/business-date.js";
import type { SettlementDeps } from "../../app/ports.js";
import { closeBusinessDay, openBatches } from "../../app/close-business-day.js";
import { streamBatchEntries, type BatchEntryRow } from "../db/pg-batch-entries.js";
import type { BatchReads } from "../prisma/prisma-batch-reads.js";
import { balancesAt, balancesNow, listAccountIds } from "../db/pg-ledger.js";
import { exportBatchSummaryCsv } from "../reports/batch-summary.js";
import { exportDetailCsv, exportDetailJson } from "../reports/export-report.js";
import { exportDetailXlsx } from "../reports/export-xlsx.js";
import { refundedPaymentReferences, streamRecords, type SettlementRecordRow } from "../db/pg-records.js";
import { copyRecords } from "../db/pg-records-copy.js";
import { recordsResponsesFromCopy } from "./reconciliation-records-wire.js";
import { batchToProto, openBatchToProto } from "../kafka/settlement-outbox.js";
import type { SettlementQueryError } from "./settlement-error-codes.js";

function invalid(field: string, description: string): SettlementQueryError {
  return { code: "invalid_request", message: `${field}: ${description}`, fieldViolations: [{ field, description }] };
}

function businessDateOf(field: string, text: string): Result<string, SettlementQueryError> {
  return isBusinessDate(text) ? ok(text) : err(invalid(field, `must be a date YYYY-MM-DD, got ${JSON.stringify(text)}`));
}

function optionalProvider(provider: Provider): Result<ProviderId | undefined, SettlementQueryError> {
  if (provider === Provider.UNSPECIFIED) return ok(undefined);
  const id = providerIdFromProto(provider);
  return id === undefined ? err(invalid("provider", `unknown provider ${String(provider)}`)) : ok(id);
}

/**
 * The provider and day a records stream asks for, checked: a known provider the credential acts
 * for and a YYYY-MM-DD date (named by `dateField` in the error); else the stream fails before any
 * record.
 */
function recordsFilterOf(provider: Provider, dateField: string, dateText: string, principal: Principal | undefined): { readonly provider: ProviderId; readonly businessDate: string } {
  const known = optionalProvider(provider);
  if (!known.ok) throw new DomainFailure(known.error);
  const date = businessDateOf(dateField, dateText);
  if (!date.ok) throw new DomainFailure(date.error);
  const providerId = known.value;
  if (providerId === undefined) throw new DomainFailure<SettlementQueryError>(invalid("provider", "required"));
  if (!grantCovers(grantOf(principal, "providers"), providerId)) {
    throw new DomainFailure<SettlementQueryError>({ code: "provider_access_denied", message: `this credential does not act for ${providerId}` });
  }
  return { provider: providerId, businessDate: date.value };
}

function recordToProto(row: SettlementRecordRow): SettlementRecord {
  return create(SettlementRecordSchema, {
    provider: providerIdToProto(row.provider),
    providerTransactionId: row.providerTransactionId,
    paymentId: row.paymentId,
    merchantId: row.merchantId,
    merchantOrderRef: row.merchantOrderRef,
    kind: row.kind === "payment" ? RecordKind.PAYMENT : RecordKind.REFUND,
    amount: { currency: row.currency, amountMinor: row.amountMinor },
    fee: { currency: row.currency, amountMinor: row.feeMinor },
    bookedAt: timestampFromDate(row.bookedAt),
    refundRef: row.refundRef,
    originalProviderTransactionId: row.originalProviderTransactionId,
  });
}

function batchEntryToProto(row: BatchEntryRow): BatchEntry {
  const m = (amountMinor: bigint) => ({ currency: row.currency, amountMinor });
  return create(BatchEntrySchema, {
    entryId: row.entryId,
    entryType: row.entryType,
    paymentId: row.paymentId,
    providerReference: row.providerReference,
    amount: m(row.amountMinor),
    providerFee: m(row.providerFeeMinor),
    platformFee: m(row.platformFeeMinor),
    bookedAt: timestampFromDate(row.bookedAt),
    memo: row.memo,
    approvedBy: row.approvedBy,
    postings: row.postings.map((p) => ({ accountId: p.accountId, amount: m(p.amountMinor), lineType: p.lineType })),
  });
}

/** Batch ids are UUIDs; anything else names no batch (and must not reach a uuid cast). */
const BATCH_ID = /^[0-9a-f-]{36}$/i;

/** The size of a StreamBatchEntries message: entries per chunk. */
export const BATCH_ENTRIES_CHUNK = 200;


/**
 * SettlementService over the ledger's read side (batch reads through Prisma Client, `reads`; the
 * rest SQL through `pool`). Finance tokens (`settlement:read`) see the
 * batches of the merchants they are bound to — another merchant's batch is NOT_FOUND, and a
 * list leaves it out; reconciliation tokens (`settlement:records`) stream the records of the
 * providers they are bound to. The only write is an operator's close of a day (`settlement:close`),
 * which makes the reserve entries the day closer would; no method posts a payment, refund,
 * adjustment or payout.
 */
export function createSettlementServiceHandlers(pool: Pool, deps: SettlementDeps, reads: BatchReads): ServiceImplementation<typeof SettlementService, SettlementQueryError> {
  return {
    async getBalances(request, context) {
      const grant = grantOf(context.principal, "merchants");
      if (request.merchantId === "" ? grant !== "all" : !grantCovers(grant, request.merchantId)) {
        return err({ code: "merchant_access_denied", message: request.merchantId === "" ? "platform balances need a credential for every merchant" : `this credential does not act for ${request.merchantId}` });
      }
      const ids = await listAccountIds(pool, request.merchantId === "" ? { platformOnly: true } : { merchantId: request.merchantId });
      const balances = request.at === undefined ? await balancesNow(pool, ids) : await balancesAt(pool, ids, timestampDate(request.at));
      return ok({
        balances: balances.map((b) => ({
          accountId: b.accountId,
          kind: b.kind,
          posted: { currency: b.currency, amountMinor: b.postedMinor },
          pendingDebits: { currency: b.currency, amountMinor: b.pendingDebitsMinor },
          pendingCredits: { currency: b.currency, amountMinor: b.pendingCreditsMinor },
        })),
      });
    },

    async closeBusinessDay(request) {
      const provider = optionalProvider(request.provider);
      if (!provider.ok) return provider;
      if (provider.value === undefined) return err(invalid("provider", "required"));
      const date = businessDateOf("business_date", request.businessDate);
      if (!date.ok) return date;
      const providerId = provider.value;
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const closed = await closeBusinessDay(deps, client, { provider: providerId, businessDate: date.value });
        await client.query(closed.ok ? "COMMIT" : "ROLLBACK");
        if (!closed.ok) return closed.error.code === "day_not_over" ? err(closed.error) : err(invalid("business_date", closed.error.message));
        return ok({ batches: closed.value.batches.map(batchToProto), alreadyClosed: closed.value.alreadyClosed });
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },

    async *exportReport(request, context) {
      const date = businessDateOf("business_date", request.businessDate);
      if (!date.ok) throw new DomainFailure(date.error);
      const provider = optionalProvider(request.provider);
      if (!provider.ok) throw new DomainFailure(provider.error);
      const grant = grantOf(context.principal, "merchants");
      if (request.merchantId === "" ? grant !== "all" : !grantCovers(grant, request.merchantId)) {
        throw new DomainFailure<SettlementQueryError>({ code: "merchant_access_denied", message: "name a merchant this credential acts for" });
      }
      const filter = { businessDate: date.value, provider: provider.value, merchantId: request.merchantId === "" ? undefined : request.merchantId };
      let stream;
      if (request.kind === ReportKind.DETAIL && request.format === ReportFormat.CSV) stream = exportDetailCsv(pool, filter);
      else if (request.kind === ReportKind.DETAIL && request.format === ReportFormat.JSON) stream = exportDetailJson(pool, filter);
      else if (request.kind === ReportKind.DETAIL && request.format === ReportFormat.XLSX) stream = exportDetailXlsx(pool, filter);
      else if (request.kind === ReportKind.SUMMARY && request.format === ReportFormat.CSV) stream = exportBatchSummaryCsv(pool, filter);
      else throw new DomainFailure<SettlementQueryError>(invalid(request.kind === ReportKind.UNSPECIFIED ? "kind" : "format", "one of DETAIL × CSV|JSON|XLSX or SUMMARY × CSV"));
      try {
        for await (const chunk of stream) {
          if (context.signal.aborted) return;
          yield { chunk: typeof chunk === "string" ? Buffer.from(chunk, "utf8") : (chunk as Buffer) };
        }
      } finally {
        stream.destroy();
      }
    },

    async *streamBatchEntries(request, context) {
      if (request.batchId === "") throw new DomainFailure<SettlementQueryError>(invalid("batch_id", "required"));
      const batch = BATCH_ID.test(request.batchId) ? await reads.getBatch(request.batchId) : undefined;
      if (batch === undefined || !grantCovers(grantOf(context.principal, "merchants"), batch.merchantId)) {
        throw new DomainFailure<SettlementQueryError>({ code: "batch_not_found", message: `no batch ${request.batchId}` });
      }
      let chunk: BatchEntry[] = [];
      for await (const page of streamBatchEntries(pool, batch.batchId, { signal: context.signal })) {
        for (const row of page) {
          chunk.push(batchEntryToProto(row));
          if (chunk.length === BATCH_ENTRIES_CHUNK) {
            yield { entries: chunk };
            chunk = [];
          }
        }
      }
      if (chunk.length > 0) yield { entries: chunk };
    },

    async getBatch(request, context) {
      if (request.batchId === "") return err(invalid("batch_id", "required"));
      const batch = BATCH_ID.test(request.batchId) ? await reads.getBatch(request.batchId) : undefined;
      if (batch === undefined || !grantCovers(grantOf(context.principal, "merchants"), batch.merchantId)) {
        return err({ code: "batch_not_found", message: `no batch ${request.batchId}` });
      }
      return ok({ batch: batchToProto(batch) });
    },

    async listBatches(request, context) {
      const date = businessDateOf("settlement_date", request.settlementDate);
      if (!date.ok) return date;
      const provider = optionalProvider(request.provider);
      if (!provider.ok) return provider;
      const grant = grantOf(context.principal, "merchants");
      const merchantId = request.merchantId === "" ? undefined : request.merchantId;
      const batches = await reads.listBatches({ businessDate: date.value, provider: provider.value, merchantId });
      // Providers whose day is not closed yet: their open batches, the totals so far.
      const open = (
        await Promise.all((provider.value === undefined ? PROVIDER_IDS : [provider.value]).map((p) => openBatches(deps, pool, { provider: p, businessDate: date.value })))
      ).flat();
      return ok({
        batches: [
          ...batches.filter((b) => grantCovers(grant, b.merchantId)).map(batchToProto),
          ...open.filter((b) => (merchantId === undefined || b.merchantId === merchantId) && grantCovers(grant, b.merchantId)).map(openBatchToProto),
        ],
      });
    },

    async *streamRecords(request, context) {
      const filter = recordsFilterOf(request.provider, "settlement_date", request.settlementDate, context.principal);
      for await (const page of streamRecords(pool, filter, { signal: context.signal })) {
        for (const row of page) yield { record: recordToProto(row) };
      }
    },

    async *streamPaymentsForReconciliation(request, context) {
      const filter = recordsFilterOf(request.provider, "business_date", request.businessDate, context.principal);
      const refunded = await refundedPaymentReferences(pool, filter);
      const copyFilter = { provider: filter.provider, businessDate: filter.businessDate, omitMerchantOrderRef: request.omitMerchantOrderRef };
      yield* recordsResponsesFromCopy(copyRecords(pool, copyFilter, { signal: context.signal }), providerIdToProto(filter.provider), refunded);
    },
  };
}
