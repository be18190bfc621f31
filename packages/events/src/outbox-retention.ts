import type { Pool } from "pg";

/** How long published outbox rows and inbox ids are kept. */
export interface OutboxRetention {
  /** Published outbox rows older than this (by `published_at`) are deleted. */
  readonly publishedRetentionMs: number;
  /**
   * Inbox ids older than this (by `processed_at`) are deleted. Must be longer than the longest
   * window in which a copy of an event can still arrive (topic retention, a DLQ replay), or a
   * late copy would be applied twice.
   */
  readonly inboxRetentionMs: number;
  /** Rows per DELETE, so one prune never holds locks on a large range; 5000 unless told. */
  readonly chunkSize?: number;
  /** Chunks per table per call, so one prune never runs for long; 20 unless told. */
  readonly maxChunks?: number;
}

/** Published outbox rows kept 7 days: enough to investigate what was sent, and then some. */
export const defaultPublishedRetentionMs = 7 * 24 * 60 * 60 * 1000;
/**
 * Inbox ids kept 14 days: twice Kafka's default topic retention (7 days), the longest time a
 * redelivered copy (a consumer group reset to the earliest offset, a DLQ replay) can still arrive.
 */
export const defaultInboxRetentionMs = 14 * 24 * 60 * 60 * 1000;

const pruneOutbox = `
DELETE FROM "outbox" WHERE "id" IN (
  SELECT "id" FROM "outbox"
  WHERE "published_at" < now() - make_interval(secs => $1::double precision / 1000)
  ORDER BY "published_at" LIMIT $2)`;
const pruneInbox = `
DELETE FROM "inbox" WHERE ("consumer_group", "event_id") IN (
  SELECT "consumer_group", "event_id" FROM "inbox"
  WHERE "processed_at" < now() - make_interval(secs => $1::double precision / 1000)
  ORDER BY "processed_at" LIMIT $2)`;

async function pruneTable(pool: Pool, statement: string, retentionMs: number, chunkSize: number, maxChunks: number): Promise<number> {
  let deleted = 0;
  for (let chunk = 0; chunk < maxChunks; chunk += 1) {
    const { rowCount } = await pool.query(statement, [retentionMs, chunkSize]);
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < chunkSize) break;
  }
  return deleted;
}

/**
 * Deletes published outbox rows and inbox ids past their retention, oldest first and in chunks
 * (each its own short transaction). Unpublished rows — waiting, held or quarantined — are never
 * deleted, whatever their age. The relay leader calls it periodically; it is exported for a
 * database that has consumers but no relay. Returns how many rows of each table it deleted.
 */
export async function pruneOutboxAndInbox(pool: Pool, retention: OutboxRetention): Promise<{ outbox: number; inbox: number }> {
  const chunkSize = retention.chunkSize ?? 5_000;
  const maxChunks = retention.maxChunks ?? 20;
  for (const [name, ms] of [["publishedRetentionMs", retention.publishedRetentionMs], ["inboxRetentionMs", retention.inboxRetentionMs]] as const) {
    if (!(ms > 0)) throw new Error(`${name} must be a positive number of milliseconds, got ${ms}`);
  }
  const outbox = await pruneTable(pool, pruneOutbox, retention.publishedRetentionMs, chunkSize, maxChunks);
  const inbox = await pruneTable(pool, pruneInbox, retention.inboxRetentionMs, chunkSize, maxChunks);
  return { outbox, inbox };
}
