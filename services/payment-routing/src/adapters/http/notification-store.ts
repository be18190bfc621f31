import { PROVIDER_IDS, type ProviderId } from "@tributary/contracts";
import type { Pool, PoolClient, QueryResult } from "pg";
import { PAYMENT_COLUMNS, toPayment, type PaymentRow } from "../db/pg-payment-store.js";
import type { DeferredCapture, DeferredCaptures } from "../../app/apply-payment-report.js";
import type { PaymentRecord, Tx } from "../../app/ports.js";
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

/**
 * A payment row the caller's transaction has already locked FOR UPDATE (undefined `record`: no
 * such row). `deferred`, in a group commit, takes a plain capture's writes for the group to write
 * together before it commits (see `DeferredCaptures` in app/apply-payment-report.ts).
 */
export interface LockedPayment {
  readonly record: PaymentRecord | undefined;
  readonly deferred?: DeferredCaptures;
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

/** One payment notification of a group, as {@link beginAndRecordPaymentNotificationIds} stores it. */
export interface PaymentNotificationToRecord {
  readonly provider: ProviderId;
  readonly notificationId: string;
  readonly paymentId: string;
  readonly receivedAt: Date;
}

/**
 * {@link beginAndRecordNotificationId} (with `lockPayment`) for a group of payment notifications,
 * in ONE round trip: `BEGIN`, then one statement that inserts every id (`ON CONFLICT DO NOTHING`)
 * and locks the payment row of each id it inserted, FOR UPDATE in payment id order (two groups,
 * or a group and a single notification, lock rows in one order), returning them. The answer is in
 * the order of `notifications`: `fresh: false` for an id already stored. The group must name each
 * (provider, id) and each payment at most once (the caller splits it so); ids are inserted in
 * (provider, id) order for the same reason rows are locked in order. `client` must be outside a
 * transaction.
 */
export async function beginAndRecordPaymentNotificationIds(client: PoolClient, notifications: readonly PaymentNotificationToRecord[]): Promise<RecordedNotification[]> {
  if (notifications.length === 0) return [];
  const q = (text: string) => client.escapeLiteral(text);
  const key = (provider: string, notificationId: string) => `${provider}\u0000${notificationId}`;
  const sorted = [...notifications].sort((a, b) => compareText(key(a.provider, a.notificationId), key(b.provider, b.notificationId)));
  const values = sorted
    .map((n) => `(${q(n.provider)}::payment_provider, ${q(n.notificationId)}, ${q(n.paymentId)}, ${q(n.receivedAt.toISOString())}::timestamptz)`)
    .join(",\n       ");
  const results = (await client.query(
    `BEGIN;
     WITH ins AS (
       INSERT INTO webhook_notifications (provider, notification_id, payment_id, received_at)
       VALUES ${values}
       ON CONFLICT (provider, notification_id) DO NOTHING
       RETURNING provider, notification_id, payment_id
     ),
     locked AS (SELECT ${PAYMENT_COLUMNS} FROM payments WHERE payment_id IN (SELECT payment_id FROM ins) ORDER BY payment_id FOR UPDATE)
     SELECT ins.provider::text AS notified_provider, ins.notification_id AS notified_id, locked.*
     FROM ins LEFT JOIN locked ON locked.payment_id = ins.payment_id`,
  )) as unknown as [QueryResult, QueryResult<PaymentRow & { notified_provider: string; notified_id: string }>];
  const fresh = new Map<string, RecordedNotification>();
  for (const row of results[1].rows) {
    const record = row.payment_id === null ? undefined : toPayment(row);
    fresh.set(key(row.notified_provider, row.notified_id), { fresh: true, traceParent: record?.traceParent, payment: { record } });
  }
  return notifications.map((n) => fresh.get(key(n.provider, n.notificationId)) ?? { fresh: false });
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// A plain capture of a group (see DeferredCaptures): what updatePayment would set, one row per
// element. A report without a provider transaction id keeps the stored one, as updatePayment does.
const WRITE_CAPTURES = `UPDATE payments p SET status = 'captured', next_check_at = NULL,
    provider_transaction_id = COALESCE(v.provider_transaction_id, p.provider_transaction_id),
    provider_status = v.provider_status, captured_at = v.captured_at, updated_at = v.updated_at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
    AS v(payment_id, provider_transaction_id, provider_status, captured_at, updated_at)
  WHERE p.payment_id = v.payment_id`;

/**
 * Writes a group's plain captures: one UPDATE of every payment row (locked already by the
 * group's first statement), then one outbox append of every PaymentCaptured per outbox (there is
 * one, the lifecycle's), in the order they were decided. A row that is not updated is a broken
 * invariant (the group holds its lock): it throws, and the caller rolls the group back.
 */
export async function writeDeferredCaptures(tx: Tx, captures: readonly DeferredCapture[]): Promise<void> {
  if (captures.length === 0) return;
  const result = await tx.query({
    name: "pr-webhook-write-captures",
    text: WRITE_CAPTURES,
    values: [
      captures.map((c) => c.paymentId),
      captures.map((c) => c.providerTransactionId ?? null),
      captures.map((c) => c.providerStatus),
      captures.map((c) => c.capturedAt),
      captures.map((c) => c.updatedAt),
    ],
  });
  if (result.rowCount !== captures.length) {
    throw new Error(`a group commit updated ${String(result.rowCount)} of its ${captures.length} captured payments`);
  }
  const byOutbox = new Map<DeferredCapture["outbox"], DeferredCapture["event"][]>();
  for (const capture of captures) byOutbox.set(capture.outbox, [...(byOutbox.get(capture.outbox) ?? []), capture.event]);
  for (const [outbox, events] of byOutbox) await outbox.append(tx, events);
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
