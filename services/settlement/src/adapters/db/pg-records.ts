import type { ProviderId } from "@tributary/contracts";
import { parseCurrencyCode, type CurrencyCode } from "@tributary/money";
import type { Queryable } from "./pg-ledger.js";

/** One of the ledger's records of a provider transaction, as reconciliation matches it. */
export interface SettlementRecordRow {
  readonly entryId: string;
  readonly kind: "payment" | "refund";
  readonly provider: ProviderId;
  /** The provider's transaction id for payments, its refund id for refunds. */
  readonly providerTransactionId: string;
  readonly paymentId: string;
  readonly merchantId: string;
  /** The merchant's order reference, when its OrderAccepted was seen; else empty. */
  readonly merchantOrderRef: string;
  /** Refunds: our refund reference and the refunded payment's provider transaction id; else empty. */
  readonly refundRef: string;
  readonly originalProviderTransactionId: string;
  readonly currency: CurrencyCode;
  readonly amountMinor: bigint;
  /** The fee charged (payment) or given back (refund), positive, as the ledger computed it. */
  readonly feeMinor: bigint;
  readonly bookedAt: Date;
}

/** Rows per query: a keyset page, so a million records never sit in memory at once. */
export const RECORDS_PAGE_SIZE = 2000;

interface RecordRowText {
  entry_id: string;
  entry_type: "payment_captured" | "refund_posted";
  provider: ProviderId;
  provider_reference: string | null;
  payment_id: string;
  merchant_id: string;
  merchant_order_ref: string | null;
  refund_ref: string | null;
  original_reference: string | null;
  currency: string;
  amount_minor: string;
  provider_fee_minor: string;
  booked_at: Date;
  booked_at_text: string;
}

/**
 * Every captured payment and posted refund of one provider booked on one business date, in
 * booking order, read in keyset pages of {@link RECORDS_PAGE_SIZE} (the (provider, business_date)
 * index, then booked_at/entry_id from the last row). The next page is asked for as soon as a page
 * arrives, before it is handed out, so the query of page n + 1 runs while page n is consumed (at
 * most two pages are held; on a pool that is a second connection, in a transaction the queries
 * queue). Pending reservations are not records: the provider has not booked them.
 */
export async function* streamRecords(
  db: Queryable,
  filter: { readonly provider: ProviderId; readonly businessDate: string },
  options: { readonly pageSize?: number; readonly signal?: AbortSignal } = {},
): AsyncGenerator<SettlementRecordRow[]> {
  const pageSize = options.pageSize ?? RECORDS_PAGE_SIZE;
  const pageAfter = (after: { bookedAt: string; entryId: string } | undefined): Promise<RecordRowText[]> =>
    db
      .query<RecordRowText>(
        `SELECT entry_id, entry_type, provider, provider_reference, payment_id, merchant_id,
              (SELECT o.merchant_order_ref FROM order_context o WHERE o.order_id = journal_entry.order_id) AS merchant_order_ref,
              refund_ref,
              CASE WHEN entry_type = 'refund_posted' THEN (SELECT c.provider_reference FROM journal_entry c
                     WHERE c.payment_id = journal_entry.payment_id AND c.entry_type = 'payment_captured' LIMIT 1) END AS original_reference,
              currency, amount_minor, provider_fee_minor, booked_at, booked_at::text AS booked_at_text
         FROM journal_entry
        WHERE provider = $1 AND business_date = $2::date AND entry_type IN ('payment_captured', 'refund_posted')
          AND ($3::timestamptz IS NULL OR (booked_at, entry_id) > ($3::timestamptz, $4::uuid))
        ORDER BY booked_at, entry_id
        LIMIT $5`,
        [filter.provider, filter.businessDate, after?.bookedAt ?? null, after?.entryId ?? null, pageSize],
      )
      .then((result) => result.rows);
  let pending: Promise<RecordRowText[]> | undefined = options.signal?.aborted === true ? undefined : pageAfter(undefined);
  try {
    while (pending !== undefined) {
      const rows = await pending;
      pending = undefined;
      const last = rows[rows.length - 1];
      // The cursor keeps Postgres's microseconds (a Date would round them to milliseconds).
      if (last !== undefined && rows.length === pageSize && options.signal?.aborted !== true) {
        pending = pageAfter({ bookedAt: last.booked_at_text, entryId: last.entry_id });
      }
      if (rows.length === 0) return;
      yield rows.map(recordRowOf);
    }
  } finally {
    // Stopped early (or failed): the prefetched page is not wanted, and its failure is nobody's.
    pending?.catch(() => undefined);
  }
}

function recordRowOf(row: RecordRowText): SettlementRecordRow {
  const currency = parseCurrencyCode(row.currency);
  if (!currency.ok) throw new Error(`ledger row has currency ${row.currency}`);
  return {
    entryId: row.entry_id,
    kind: row.entry_type === "payment_captured" ? "payment" : "refund",
    provider: row.provider,
    providerTransactionId: row.provider_reference ?? "",
    paymentId: row.payment_id,
    merchantId: row.merchant_id,
    merchantOrderRef: row.merchant_order_ref ?? "",
    refundRef: row.refund_ref ?? "",
    originalProviderTransactionId: row.original_reference ?? "",
    currency: currency.value,
    amountMinor: BigInt(row.amount_minor),
    feeMinor: BigInt(row.provider_fee_minor),
    bookedAt: row.booked_at,
  };
}
