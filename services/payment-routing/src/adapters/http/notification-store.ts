import { PROVIDER_IDS, type ProviderId } from "@tributary/contracts";
import type { Pool, PoolClient, QueryResult } from "pg";
import { PAYMENT_COLUMNS, toPayment, type PaymentRow } from "../db/pg-payment-store.js";
import type { PaymentRecord } from "../../app/ports.js";
import { DEFAULT_UNTIMED_RETENTION_MS, retentionMs } from "./webhook-decision.js";

/*
 * The replay and dedupe store, `webhook_notifications` (provider, notification_id) — the SQL the
 * webhook layer owns. Its primary key is what makes "applied once" hold across instances: two
 * transactions inserting the same id serialise on the key, and the second sees the first's row
 * once the first commits (or inserts it itself if the first rolled back).
 */

/** What storing a notification id found. */
export type RecordedNotification =
  /** Already stored: a retry, a duplicate or a replay. */
  | { readonly fresh: false }
  /**
   * New: the caller goes on to apply it, in the payment's trace when the attempt stored one. With
   * `lockPayment`, `payment` is the payment's row as locked (FOR UPDATE) by the same statement —
   * `record` undefined when no such payment exists.
   */
  | { readonly fresh: true; readonly traceParent: string | undefined; readonly payment?: LockedPayment };

/** A payment row the caller's transaction has already locked FOR UPDATE (undefined `record`: no such row). */
export interface LockedPayment {
  readonly record: PaymentRecord | undefined;
}

/**
 * Opens the caller's transaction and stores a notification id in it, in ONE round trip (a simple
 * query: `BEGIN; INSERT …`, the values quoted by the connection's `escapeLiteral`), and in the same
 * statement reads the traceparent the payment's attempt was created in (so the apply continues the
 * order's trace). With `lockPayment` (payment notifications) the statement also locks the payment's
 * row FOR UPDATE — only when the id is new — and returns it, which spares the apply its own locking
 * read. Refund notifications lock their refund first and then the payment, so they do not ask for it.
 * `client` must be outside a transaction; after a duplicate the caller rolls back.
 */
export async function beginAndRecordNotificationId(
  client: PoolClient,
  provider: ProviderId,
  notificationId: string,
  paymentId: string,
  receivedAt: Date,
  options: { readonly lockPayment: boolean },
): Promise<RecordedNotification> {
  const q = (text: string) => client.escapeLiteral(text);
  const insert = `INSERT INTO webhook_notifications (provider, notification_id, payment_id, received_at)
     VALUES (${q(provider)}::payment_provider, ${q(notificationId)}, ${q(paymentId)}, ${q(receivedAt.toISOString())}::timestamptz)
     ON CONFLICT (provider, notification_id) DO NOTHING`;
  if (!options.lockPayment) {
    const results = (await client.query(
      `BEGIN; ${insert} RETURNING (SELECT trace_parent FROM payments WHERE payment_id = ${q(paymentId)}) AS trace_parent`,
    )) as unknown as [QueryResult, QueryResult<{ trace_parent: string | null }>];
    const row = results[1].rows[0];
    return row === undefined ? { fresh: false } : { fresh: true, traceParent: row.trace_parent ?? undefined };
  }
  const results = (await client.query(
    `BEGIN;
     WITH ins AS (${insert} RETURNING 1 AS one),
     locked AS (SELECT ${PAYMENT_COLUMNS} FROM payments WHERE payment_id = ${q(paymentId)} AND EXISTS (SELECT 1 FROM ins) FOR UPDATE)
     SELECT ins.one IS NOT NULL AS fresh, locked.* FROM (SELECT 1) AS one_row LEFT JOIN ins ON true LEFT JOIN locked ON true`,
  )) as unknown as [QueryResult, QueryResult<PaymentRow & { fresh: boolean }>];
  const row = results[1].rows[0];
  if (row?.fresh !== true) return { fresh: false };
  const record = row.payment_id === null ? undefined : toPayment(row);
  return { fresh: true, traceParent: record?.traceParent, payment: { record } };
}

/** How long stored ids are kept. */
export interface PruneOptions {
  readonly now: Date;
  readonly replayWindowMs: number;
  /** For providers without a signed send time (UnionPay); 30 days unless told. */
  readonly untimedRetentionMs?: number;
}

/**
 * Deletes the ids no replay can need any more ({@link retentionMs}: twice the replay window plus
 * a margin for timestamped providers, `untimedRetentionMs` for the others). Safe to run on every
 * instance at once. Returns how many rows it deleted.
 */
export async function pruneWebhookNotifications(pool: Pool, options: PruneOptions): Promise<number> {
  const untimedRetention = options.untimedRetentionMs ?? DEFAULT_UNTIMED_RETENTION_MS;
  const groups = new Map<number, ProviderId[]>();
  for (const provider of PROVIDER_IDS) {
    const keepMs = retentionMs(provider, options.replayWindowMs, untimedRetention);
    groups.set(keepMs, [...(groups.get(keepMs) ?? []), provider]);
  }
  let deleted = 0;
  for (const [keepMs, providers] of groups) {
    const result = await pool.query(
      "DELETE FROM webhook_notifications WHERE provider = ANY($1::payment_provider[]) AND received_at < $2",
      [providers, new Date(options.now.getTime() - keepMs)],
    );
    deleted += result.rowCount ?? 0;
  }
  return deleted;
}
