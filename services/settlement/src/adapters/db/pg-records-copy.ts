import type { ProviderId } from "@tributary/contracts";
import type { Pool } from "pg";
import { to as copyTo } from "pg-copy-streams";

/**
 * The records of one provider's business day as Postgres's binary COPY stream, for the
 * reconciliation stream: one statement for the whole day, read with backpressure, every tuple
 * length-prefixed (no escaping, no text conversion of amounts or times, no row objects in Node).
 * Measured on a 50,000-record day: node-postgres's row parsing alone cost ~3.5 µs of CPU a record
 * here, the whole Node side of this path ~0.5.
 *
 * Each tuple's fields, in order, with their binary types (see {@link RECORD_COPY_FIELDS}); the
 * order is booking order (booked_at, entry_id), as StreamRecords's pages.
 */
export const RECORD_COPY_FIELDS = [
  "kind int2 (1 payment, 2 refund)",
  "provider_reference text",
  "payment_id text",
  "merchant_id text",
  "merchant_order_ref text (NULL when its OrderAccepted was not seen)",
  "refund_ref text",
  "currency text",
  "amount_minor int8",
  "provider_fee_minor int8",
  "booked_at timestamptz (int8 µs since 2000-01-01 UTC)",
] as const;

/** Which records {@link copyRecords} streams, and whether it looks up their merchant order references. */
export interface RecordsCopyFilter {
  readonly provider: ProviderId;
  readonly businessDate: string;
  /**
   * Every `merchant_order_ref` NULL, without the join to `order_context` that finds it: a lookup
   * per record, ~2.5 s of Postgres's CPU on a million-record day against ~0.4 s for the rest.
   */
  readonly omitMerchantOrderRef?: boolean;
}

/** The COPY statement: COPY takes no bind parameters, so the two values are quoted literals. */
function recordsCopySql(quote: (value: string) => string, filter: RecordsCopyFilter): string {
  const provider = quote(filter.provider);
  const day = quote(filter.businessDate);
  const omit = filter.omitMerchantOrderRef === true;
  return `COPY (
    SELECT CASE WHEN e.entry_type = 'payment_captured' THEN 1 ELSE 2 END::int2,
           e.provider_reference, e.payment_id, e.merchant_id, ${omit ? "NULL::text" : "o.merchant_order_ref"}, e.refund_ref,
           e.currency::text, e.amount_minor, e.provider_fee_minor, e.booked_at
      FROM journal_entry e
      ${omit ? "" : "LEFT JOIN order_context o ON o.order_id = e.order_id"}
     WHERE e.provider = ${provider}::payment_provider AND e.business_date = ${day}::date
       AND e.entry_type IN ('payment_captured', 'refund_posted')
     ORDER BY e.booked_at, e.entry_id
  ) TO STDOUT (FORMAT binary)`;
}

/**
 * The day's records as raw PGCOPY binary chunks, on a connection of its own for the stream's
 * length. Stopped early (the caller returns, or `signal` aborts), the connection is destroyed
 * rather than returned to the pool mid-COPY.
 */
export async function* copyRecords(
  pool: Pool,
  filter: RecordsCopyFilter,
  options: { readonly signal?: AbortSignal } = {},
): AsyncGenerator<Buffer> {
  const aborted = (): boolean => options.signal?.aborted === true;
  if (aborted()) return;
  const client = await pool.connect();
  let finished = false;
  try {
    // In index order, without a sort: on a day that is most of the table the planner otherwise
    // picks a parallel seq scan, an external sort of the whole day and JIT (a million records:
    // ~10 s of Postgres CPU against ~2 s this way). SET LOCAL ends with the transaction, on this
    // connection only.
    await client.query("BEGIN READ ONLY");
    await client.query("SET LOCAL enable_sort = off; SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0");
    const stream = client.query(copyTo(recordsCopySql((value) => client.escapeLiteral(value), filter)));
    const abort = (): void => void stream.destroy(new Error("records stream aborted"));
    options.signal?.addEventListener("abort", abort, { once: true });
    try {
      for await (const chunk of stream) {
        yield chunk as Buffer;
        if (aborted()) return;
      }
      await client.query("COMMIT");
      finished = true;
    } finally {
      options.signal?.removeEventListener("abort", abort);
      if (!finished) stream.destroy();
    }
  } finally {
    client.release(finished ? undefined : true);
  }
}
