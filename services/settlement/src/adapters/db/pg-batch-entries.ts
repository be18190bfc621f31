/**
 * The ledger entries behind one batch — the entries it claimed, its reserve entries and its
 * payout — with their postings, read in keyset pages so a batch of any size streams in flat memory.
 */
import { parseCurrencyCode, type CurrencyCode } from "@tributary/money";
import type { EntryType } from "../../domain/journal-entry.js";
import type { Queryable } from "./pg-ledger.js";

/** Entries per page (one query for the entries, one for their postings). */
export const BATCH_ENTRIES_PAGE_SIZE = 500;

/** One leg, signed debit-positive. */
export interface BatchPostingRow {
  readonly accountId: string;
  readonly amountMinor: bigint;
  readonly lineType: string;
}

/** One entry of a batch with its legs in line order. */
export interface BatchEntryRow {
  readonly entryId: string;
  readonly entryType: EntryType;
  readonly paymentId: string;
  readonly providerReference: string;
  readonly currency: CurrencyCode;
  readonly amountMinor: bigint;
  readonly providerFeeMinor: bigint;
  readonly platformFeeMinor: bigint;
  readonly bookedAt: Date;
  readonly memo: string;
  readonly approvedBy: string;
  readonly postings: readonly BatchPostingRow[];
}

/** Pages of the batch's entries in booking order (then entry id); nothing for an unknown batch. */
export async function* streamBatchEntries(
  db: Queryable,
  batchId: string,
  options: { readonly pageSize?: number; readonly signal?: AbortSignal } = {},
): AsyncGenerator<BatchEntryRow[]> {
  const pageSize = options.pageSize ?? BATCH_ENTRIES_PAGE_SIZE;
  let after: { bookedAt: string; entryId: string } | undefined;
  for (;;) {
    if (options.signal?.aborted === true) return;
    const { rows } = await db.query<{
      entry_id: string;
      entry_type: EntryType;
      payment_id: string | null;
      provider_reference: string | null;
      currency: string;
      amount_minor: string;
      provider_fee_minor: string;
      platform_fee_minor: string;
      booked_at: Date;
      booked_at_text: string;
      memo: string;
      approved_by: string | null;
    }>(
      `SELECT e.entry_id, e.entry_type, e.payment_id, e.provider_reference, e.currency, e.amount_minor, e.provider_fee_minor,
              e.platform_fee_minor, e.booked_at, e.booked_at::text AS booked_at_text, e.memo, e.approved_by
         FROM journal_entry e
         JOIN (SELECT entry_id FROM batch_entry WHERE batch_id = $1
               UNION ALL SELECT entry_id FROM settlement_payout WHERE batch_id = $1) m ON m.entry_id = e.entry_id
        WHERE ($2::timestamptz IS NULL OR (e.booked_at, e.entry_id) > ($2::timestamptz, $3::uuid))
        ORDER BY e.booked_at, e.entry_id
        LIMIT $4`,
      [batchId, after?.bookedAt ?? null, after?.entryId ?? null, pageSize],
    );
    if (rows.length === 0) return;
    const postings = await db.query<{ entry_id: string; account_id: string; amount_minor: string; line_type: string }>(
      "SELECT entry_id, account_id, amount_minor, line_type FROM ledger_posting WHERE entry_id = ANY($1::uuid[]) ORDER BY entry_id, line_no",
      [rows.map((row) => row.entry_id)],
    );
    const legs = new Map<string, BatchPostingRow[]>();
    for (const p of postings.rows) {
      let list = legs.get(p.entry_id);
      if (list === undefined) legs.set(p.entry_id, (list = []));
      list.push({ accountId: p.account_id, amountMinor: BigInt(p.amount_minor), lineType: p.line_type });
    }
    yield rows.map((row) => {
      const currency = parseCurrencyCode(row.currency);
      if (!currency.ok) throw new Error(`ledger row has currency ${row.currency}`);
      return {
        entryId: row.entry_id,
        entryType: row.entry_type,
        paymentId: row.payment_id ?? "",
        providerReference: row.provider_reference ?? "",
        currency: currency.value,
        amountMinor: BigInt(row.amount_minor),
        providerFeeMinor: BigInt(row.provider_fee_minor),
        platformFeeMinor: BigInt(row.platform_fee_minor),
        bookedAt: row.booked_at,
        memo: row.memo,
        approvedBy: row.approved_by ?? "",
        postings: legs.get(row.entry_id) ?? [],
      };
    });
    const last = rows[rows.length - 1];
    if (last === undefined) return;
    // The cursor keeps Postgres's microseconds (a Date would round them to milliseconds).
    after = { bookedAt: last.booked_at_text, entryId: last.entry_id };
    if (rows.length < pageSize) return;
  }
}
