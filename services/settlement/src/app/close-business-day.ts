import type { ProviderId } from "@tributary/contracts";
import type { CurrencyCode } from "@tributary/money";
import { err, ok, type Result } from "@tributary/result";
import type { PoolClient } from "pg";
import { dueReserves, carriedForward, insertBatch, listBatches, lockProviderClose, markDayClosed, unclaimedEntries, type ClaimableEntry, type DueReserve } from "../adapters/db/pg-batches.js";
import { writeEntries } from "../adapters/db/pg-ledger.js";
import { appendBatchesClosed } from "../adapters/kafka/settlement-outbox.js";
import { batchTotals } from "../domain/batch-totals.js";
import { addDays, isBusinessDate, shanghaiDayBounds } from "../domain/business-date.js";
import { merchantTermsFor, settlementCycleDaysFor } from "../domain/fee-terms.js";
import type { EntryDraft } from "../domain/journal-entry.js";
import { reserveReleasedEntry, reserveWithheldEntry } from "../domain/reserve-entry.js";
import type { SettlementBatch } from "../domain/settlement-batch.js";
import { countWritten, type SettlementDeps } from "./ports.js";

/** Why a day cannot be closed. */
export type CloseDayError =
  | { readonly code: "invalid_business_date"; readonly message: string }
  | { readonly code: "day_not_over"; readonly message: string };

/** The batches of a closed day; `alreadyClosed` when this call found the day closed and changed nothing. */
export interface DayClosed {
  readonly batches: readonly SettlementBatch[];
  readonly alreadyClosed: boolean;
}

/**
 * Closes one provider's business day, in the caller's transaction: per merchant and currency, a
 * batch takes every capture, posted refund and adjustment booked up to the day (00:00
 * Asia/Shanghai cut-off) that no batch has yet — so a late arrival for a closed day goes into the
 * next one — withholds the rolling reserve, releases the reserves due, takes in the negative net
 * the merchant's previous batch carried forward, and `SettlementBatchClosed` goes to the outbox.
 * Closing a day again returns its batches and changes nothing. Refused before the cut-off.
 */
export async function closeBusinessDay(
  deps: SettlementDeps,
  tx: PoolClient,
  request: { readonly provider: ProviderId; readonly businessDate: string },
): Promise<Result<DayClosed, CloseDayError>> {
  if (!isBusinessDate(request.businessDate)) {
    return err({ code: "invalid_business_date", message: `business date ${JSON.stringify(request.businessDate)} is not YYYY-MM-DD` });
  }
  const now = deps.clock();
  const { cutoff } = shanghaiDayBounds(request.businessDate);
  if (now.getTime() < cutoff.getTime()) {
    return err({ code: "day_not_over", message: `${request.businessDate} ends at ${cutoff.toISOString()} (00:00 Asia/Shanghai); it is ${now.toISOString()}` });
  }
  await lockProviderClose(tx, request.provider);
  if (!(await markDayClosed(tx, request.provider, request.businessDate, now))) {
    return ok({ batches: await listBatches(tx, { businessDate: request.businessDate, provider: request.provider }), alreadyClosed: true });
  }
  const entries = await unclaimedEntries(tx, request.provider, request.businessDate);
  const reserves = await dueReserves(tx, request.provider, request.businessDate);
  const groups = new Map<string, { merchantId: string; currency: CurrencyCode; entries: ClaimableEntry[]; reserves: DueReserve[] }>();
  const group = (merchantId: string, currency: CurrencyCode) => {
    const key = JSON.stringify([merchantId, currency]);
    let found = groups.get(key);
    if (found === undefined) {
      found = { merchantId, currency, entries: [], reserves: [] };
      groups.set(key, found);
    }
    return found;
  };
  for (const entry of entries) group(entry.merchantId, entry.currency).entries.push(entry);
  for (const reserve of reserves) group(reserve.merchantId, reserve.currency).reserves.push(reserve);

  const settlementDate = addDays(request.businessDate, settlementCycleDaysFor(deps.terms, request.provider));
  const batches: SettlementBatch[] = [];
  for (const g of [...groups.values()].sort((a, b) => (a.merchantId < b.merchantId ? -1 : a.merchantId > b.merchantId ? 1 : 0))) {
    const terms = merchantTermsFor(deps.terms, g.merchantId);
    const batchId = deps.newId();
    const totals = batchTotals(g.entries, {
      terms,
      reserveReleasedMinor: g.reserves.reduce((sum, r) => sum + r.amountMinor, 0n),
      carriedInMinor: await carriedForward(tx, g.merchantId, request.provider, g.currency, request.businessDate),
    });
    const base = { merchantId: g.merchantId, provider: request.provider, currency: g.currency, businessDate: request.businessDate, bookedAt: now };
    const reserveEntries: EntryDraft[] = g.reserves.map((r) => reserveReleasedEntry({ ...base, entryId: deps.newId(), amountMinor: r.amountMinor, withheldEntryId: r.entryId }));
    if (totals.reserveWithheldMinor > 0n) {
      reserveEntries.push(
        reserveWithheldEntry({ ...base, entryId: deps.newId(), amountMinor: totals.reserveWithheldMinor, batchId, releaseOn: addDays(request.businessDate, terms.reserveDays) }),
      );
    }
    const written = await writeEntries(tx, reserveEntries);
    countWritten(deps, reserveEntries, written);
    if (written.size !== reserveEntries.length) throw new Error(`close ${request.provider} ${request.businessDate}: a reserve entry of ${g.merchantId} existed already`);
    const batch: SettlementBatch = {
      ...totals,
      batchId,
      merchantId: g.merchantId,
      provider: request.provider,
      businessDate: request.businessDate,
      settlementDate,
      currency: g.currency,
      status: "closed",
      closedAt: now,
      reconciliationId: undefined,
      discrepancyCount: undefined,
    };
    await insertBatch(tx, batch, [...g.entries.map((e) => e.entryId), ...reserveEntries.map((e) => e.entryId)]);
    batches.push(batch);
  }
  await appendBatchesClosed(tx, batches);
  return ok({ batches, alreadyClosed: false });
}
