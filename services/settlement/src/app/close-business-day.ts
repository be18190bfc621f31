import type { ProviderId } from "@tributary/contracts";
import type { CurrencyCode } from "@tributary/money";
import { err, ok, type Result } from "@tributary/result";
import type { PoolClient } from "pg";
import { dueReserves, carriedForward, insertBatch, listBatches, lockProviderClose, markDayClosed, unclaimedEntries, type ClaimableEntry, type DueReserve } from "../adapters/db/pg-batches.js";
import { writeEntries, type Queryable } from "../adapters/db/pg-ledger.js";
import { appendBatchesClosed } from "../adapters/kafka/settlement-outbox.js";
import { batchTotals, type BatchTotals } from "../domain/batch-totals.js";
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
/** One merchant's (and currency's) share of a provider's day: what its batch takes in, and the totals. */
interface DayGroup {
  readonly merchantId: string;
  readonly currency: CurrencyCode;
  readonly entries: readonly ClaimableEntry[];
  readonly reserves: readonly DueReserve[];
  readonly terms: ReturnType<typeof merchantTermsFor>;
  readonly totals: BatchTotals;
}

/**
 * What a close of the provider's day would put in each merchant's batch, read only and ordered by
 * merchant: the entries no batch has yet, the reserves due, the carried-in negative net and the
 * totals over them.
 */
async function dayGroups(deps: SettlementDeps, db: Queryable, provider: ProviderId, businessDate: string): Promise<DayGroup[]> {
  const entries = await unclaimedEntries(db, provider, businessDate);
  const reserves = await dueReserves(db, provider, businessDate);
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
  const out: DayGroup[] = [];
  for (const g of [...groups.values()].sort((a, b) => (a.merchantId < b.merchantId ? -1 : a.merchantId > b.merchantId ? 1 : 0))) {
    const terms = merchantTermsFor(deps.terms, g.merchantId);
    const totals = batchTotals(g.entries, {
      terms,
      reserveReleasedMinor: g.reserves.reduce((sum, r) => sum + r.amountMinor, 0n),
      carriedInMinor: await carriedForward(db, g.merchantId, provider, g.currency, businessDate),
    });
    out.push({ ...g, terms, totals });
  }
  return out;
}

/** A batch still **open**: the provider's business day is not closed yet, so it has no id and no close time. */
export type OpenBatch = Omit<SettlementBatch, "batchId" | "status" | "closedAt" | "reconciliationId" | "discrepancyCount"> & { readonly status: "open" };

/**
 * The open batches of a provider's business day that is not closed yet: per merchant and currency,
 * the totals a close now would give (entries booked so far, reserves due, carried-in net), read
 * only. A closed day has none (its batches are stored).
 */
export async function openBatches(deps: SettlementDeps, db: Queryable, request: { readonly provider: ProviderId; readonly businessDate: string }): Promise<OpenBatch[]> {
  const { rowCount } = await db.query("SELECT 1 FROM business_day_close WHERE provider = $1 AND business_date = $2::date", [request.provider, request.businessDate]);
  if (rowCount !== 0) return [];
  const settlementDate = addDays(request.businessDate, settlementCycleDaysFor(deps.terms, request.provider));
  return (await dayGroups(deps, db, request.provider, request.businessDate)).map((g) => ({
    ...g.totals,
    merchantId: g.merchantId,
    provider: request.provider,
    businessDate: request.businessDate,
    settlementDate,
    currency: g.currency,
    status: "open",
  }));
}

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
  const settlementDate = addDays(request.businessDate, settlementCycleDaysFor(deps.terms, request.provider));
  const batches: SettlementBatch[] = [];
  for (const g of await dayGroups(deps, tx, request.provider, request.businessDate)) {
    const { terms, totals } = g;
    const batchId = deps.newId();
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
