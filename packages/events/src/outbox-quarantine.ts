import type { Pool } from "pg";

/** An outbox row the relay quarantined, as an operator sees it. */
export interface QuarantinedOutboxRow {
  readonly id: string;
  readonly eventId: string;
  readonly topic: string;
  readonly messageKey: string;
  readonly eventType: string;
  readonly reason: string;
  readonly quarantinedAt: Date;
  readonly payloadBytes: number;
  /** Later unpublished rows of the same topic and key, held back so per-key order survives. */
  readonly heldCount: number;
}

interface QuarantinedRecord {
  readonly id: string;
  readonly event_id: string;
  readonly topic: string;
  readonly message_key: string;
  readonly event_type: string;
  readonly quarantine_reason: string | null;
  readonly quarantined_at: Date;
  readonly payload_bytes: number;
  readonly held_count: number;
}

const selectQuarantined = `
SELECT q."id", q."event_id", q."topic", q."message_key", q."event_type", q."quarantine_reason", q."quarantined_at",
       octet_length(q."payload")::int AS "payload_bytes",
       (SELECT count(*)::int FROM "outbox" h
         WHERE h."topic" = q."topic" AND h."message_key" = q."message_key" AND h."id" > q."id"
           AND h."published_at" IS NULL AND h."quarantined_at" IS NULL) AS "held_count"
FROM "outbox" q
WHERE q."quarantined_at" IS NOT NULL AND q."published_at" IS NULL
ORDER BY q."id"`;

/**
 * Lists the outbox rows the relay quarantined because the broker refused them for good, oldest
 * first, with the broker's reason and how many later rows of the same key wait behind each. It
 * exists so an operator can see what did not go out (the relay also counts quarantines in the
 * `tributary.outbox.quarantined` metric and logs each one) and decide: fix the cause (create the
 * topic, raise its `max.message.bytes`) and {@link releaseQuarantinedOutboxRows}.
 */
export async function listQuarantinedOutboxRows(pool: Pool): Promise<QuarantinedOutboxRow[]> {
  const { rows } = await pool.query<QuarantinedRecord>(selectQuarantined);
  return rows.map((row) => ({
    id: row.id,
    eventId: row.event_id,
    topic: row.topic,
    messageKey: row.message_key,
    eventType: row.event_type,
    reason: row.quarantine_reason ?? "",
    quarantinedAt: row.quarantined_at,
    payloadBytes: row.payload_bytes,
    heldCount: row.held_count,
  }));
}

/** Which quarantined rows to release; all of them when `eventIds` is not given. */
export interface ReleaseQuarantinedOutboxRowsOptions {
  readonly eventIds?: readonly string[];
}

/**
 * Releases quarantined rows back to the relay (after the cause was fixed): it clears their
 * quarantine, and the relay publishes them, and the rows held behind them, in `id` order at its
 * next poll. A row refused again is quarantined again. Returns the event ids it released.
 */
export async function releaseQuarantinedOutboxRows(
  pool: Pool,
  options: ReleaseQuarantinedOutboxRowsOptions = {},
): Promise<string[]> {
  const { rows } = await pool.query<{ event_id: string }>(
    `UPDATE "outbox" SET "quarantined_at" = NULL, "quarantine_reason" = NULL
     WHERE "quarantined_at" IS NOT NULL AND "published_at" IS NULL
       AND ($1::uuid[] IS NULL OR "event_id" = ANY($1::uuid[]))
     RETURNING "event_id"`,
    [options.eventIds === undefined ? null : [...options.eventIds]],
  );
  return rows.map((row) => row.event_id);
}
