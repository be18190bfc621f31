import type { ProviderId } from "@tributary/contracts";
import { parseCurrencyCode, type CurrencyCode } from "@tributary/money";
import type { QueryArrayConfig } from "pg";
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

/**
 * One record as the query returns it, in `rowMode: "array"` (no object per row), every column as
 * text (no Date or BigInt made per row): see {@link RECORD_COLUMN}.
 */
type RecordWireRow = readonly (string | null)[];

/** The column of each field in a {@link RecordWireRow}. */
const RECORD_COLUMN = {
  entryId: 0,
  entryType: 1,
  provider: 2,
  providerReference: 3,
  paymentId: 4,
  merchantId: 5,
  merchantOrderRef: 6,
  refundRef: 7,
  originalReference: 8,
  currency: 9,
  amountMinor: 10,
  providerFeeMinor: 11,
  /** Milliseconds since the epoch, floored (what a Date of `booked_at` holds). */
  bookedAtMs: 12,
  /** `booked_at` with Postgres's microseconds: the keyset cursor. */
  bookedAtText: 13,
} as const;

/**
 * Every captured payment and posted refund of one provider booked on one business date, in
 * booking order, read in keyset pages of {@link RECORDS_PAGE_SIZE} (the (provider, business_date)
 * index, then booked_at/entry_id from the last row) as {@link RecordWireRow}s. The next page is
 * asked for as soon as a page arrives, before it is handed out, so the query of page n + 1 runs
 * while page n is consumed (at most two pages are held; on a pool that is a second connection, in
 * a transaction the queries queue). Pending reservations are not records: the provider has not
 * booked them.
 */
async function* streamRecordWireRows(
  db: Queryable,
  filter: { readonly provider: ProviderId; readonly businessDate: string },
  options: { readonly pageSize?: number; readonly signal?: AbortSignal } = {},
): AsyncGenerator<RecordWireRow[]> {
  const pageSize = options.pageSize ?? RECORDS_PAGE_SIZE;
  const refunded = await refundedPaymentReferences(db, filter);
  const pageAfter = (after: { bookedAt: string; entryId: string } | undefined): Promise<RecordWireRow[]> =>
    db
      .query<(string | null)[]>({
        name: "settlement-records-page",
        rowMode: "array" as const,
        // No subquery per row: the merchant order reference by a join, the refunded payment's
        // provider transaction id from the day's refunds, read once (`refundedPaymentReferences`), the
        // milliseconds from a date_trunc'd epoch (exact, a tenth of floor() on the numeric
        // epoch). On a 50,000-record day Postgres's execution went 580 → ~100 ms.
        text: `SELECT e.entry_id::text, e.entry_type::text, e.provider::text, e.provider_reference, e.payment_id, e.merchant_id,
              o.merchant_order_ref, e.refund_ref, NULL AS original_reference,
              e.currency::text, e.amount_minor::text, e.provider_fee_minor::text,
              (extract(epoch FROM date_trunc('milliseconds', e.booked_at)) * 1000)::bigint::text AS booked_at_ms,
              e.booked_at::text AS booked_at_text
         FROM journal_entry e
         LEFT JOIN order_context o ON o.order_id = e.order_id
        WHERE e.provider = $1 AND e.business_date = $2::date AND e.entry_type IN ('payment_captured', 'refund_posted')
          AND ($3::timestamptz IS NULL OR (e.booked_at, e.entry_id) > ($3::timestamptz, $4::uuid))
        ORDER BY e.booked_at, e.entry_id
        LIMIT $5`,
        values: [filter.provider, filter.businessDate, after?.bookedAt ?? null, after?.entryId ?? null, pageSize],
      } satisfies QueryArrayConfig)
      .then((result) => withOriginals(result.rows, refunded));
  let pending: Promise<RecordWireRow[]> | undefined = options.signal?.aborted === true ? undefined : pageAfter(undefined);
  try {
    while (pending !== undefined) {
      const rows = await pending;
      pending = undefined;
      const last = rows[rows.length - 1];
      // The cursor keeps Postgres's microseconds (a Date would round them to milliseconds).
      if (last !== undefined && rows.length === pageSize && options.signal?.aborted !== true) {
        pending = pageAfter({ bookedAt: last[RECORD_COLUMN.bookedAtText] ?? "", entryId: last[RECORD_COLUMN.entryId] ?? "" });
      }
      if (rows.length === 0) return;
      yield rows;
    }
  } finally {
    // Stopped early (or failed): the prefetched page is not wanted, and its failure is nobody's.
    pending?.catch(() => undefined);
  }
}

/** Fills in each refund's original provider transaction id from the day's map. */
function withOriginals(rows: (string | null)[][], refunded: ReadonlyMap<string, string>): RecordWireRow[] {
  for (const row of rows) {
    if (row[RECORD_COLUMN.entryType] === "refund_posted") row[RECORD_COLUMN.originalReference] = refunded.get(row[RECORD_COLUMN.paymentId] ?? "") ?? null;
  }
  return rows;
}

/**
 * For the day's refunds, the provider transaction id of the payment each refunds (keyed by our
 * payment id): a refund's record carries it, and a day has few refunds, so one query before the
 * stream instead of a subplan on every record (which cost Postgres ~0.8 µs a record even when it
 * never ran). Both record streams use it: StreamRecords's pages and the reconciliation COPY.
 */
export async function refundedPaymentReferences(
  db: Queryable,
  filter: { readonly provider: ProviderId; readonly businessDate: string },
): Promise<Map<string, string>> {
  const { rows } = await db.query<{ payment_id: string; provider_reference: string | null }>({
    text: `SELECT DISTINCT r.payment_id, c.provider_reference
             FROM journal_entry r
             JOIN journal_entry c ON c.payment_id = r.payment_id AND c.entry_type = 'payment_captured'
            WHERE r.provider = $1 AND r.business_date = $2::date AND r.entry_type = 'refund_posted'`,
    values: [filter.provider, filter.businessDate],
  });
  return new Map(rows.flatMap((row) => (row.provider_reference === null ? [] : [[row.payment_id, row.provider_reference] as const])));
}

/** {@link streamRecordWireRows} as {@link SettlementRecordRow} objects. */
export async function* streamRecords(
  db: Queryable,
  filter: { readonly provider: ProviderId; readonly businessDate: string },
  options: { readonly pageSize?: number; readonly signal?: AbortSignal } = {},
): AsyncGenerator<SettlementRecordRow[]> {
  for await (const rows of streamRecordWireRows(db, filter, options)) yield rows.map(recordRowOf);
}

function recordRowOf(row: RecordWireRow): SettlementRecordRow {
  const column = (index: number): string => row[index] ?? "";
  const currency = parseCurrencyCode(column(RECORD_COLUMN.currency));
  if (!currency.ok) throw new Error(`ledger row has currency ${column(RECORD_COLUMN.currency)}`);
  return {
    entryId: column(RECORD_COLUMN.entryId),
    kind: column(RECORD_COLUMN.entryType) === "payment_captured" ? "payment" : "refund",
    provider: column(RECORD_COLUMN.provider) as ProviderId,
    providerTransactionId: column(RECORD_COLUMN.providerReference),
    paymentId: column(RECORD_COLUMN.paymentId),
    merchantId: column(RECORD_COLUMN.merchantId),
    merchantOrderRef: column(RECORD_COLUMN.merchantOrderRef),
    refundRef: column(RECORD_COLUMN.refundRef),
    originalProviderTransactionId: column(RECORD_COLUMN.originalReference),
    currency: currency.value,
    amountMinor: BigInt(column(RECORD_COLUMN.amountMinor)),
    feeMinor: BigInt(column(RECORD_COLUMN.providerFeeMinor)),
    bookedAt: new Date(Number(column(RECORD_COLUMN.bookedAtMs))),
  };
}
