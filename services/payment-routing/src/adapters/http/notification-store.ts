import { PROVIDER_IDS, type ProviderId } from "@tributary/contracts";
import type { Pool, PoolClient } from "pg";
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
  /** New: the caller goes on to apply it, in the payment's trace when the attempt stored one. */
  | { readonly fresh: true; readonly traceParent: string | undefined };

/**
 * Stores a notification id inside the caller's transaction and, in the same round trip, reads the
 * traceparent the payment's attempt was created in (so the apply continues the order's trace).
 */
export async function recordNotificationId(
  tx: PoolClient,
  provider: ProviderId,
  notificationId: string,
  paymentId: string,
  receivedAt: Date,
): Promise<RecordedNotification> {
  const inserted = await tx.query<{ trace_parent: string | null }>(
    `INSERT INTO webhook_notifications (provider, notification_id, payment_id, received_at)
     VALUES ($1::payment_provider, $2, $3, $4)
     ON CONFLICT (provider, notification_id) DO NOTHING
     RETURNING (SELECT trace_parent FROM payments WHERE payment_id = $3) AS trace_parent`,
    [provider, notificationId, paymentId, receivedAt],
  );
  const row = inserted.rows[0];
  return row === undefined ? { fresh: false } : { fresh: true, traceParent: row.trace_parent ?? undefined };
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
