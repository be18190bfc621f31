import { err, ok, type Result } from "@tributary/result";
import type { Pool } from "pg";
import { releaseKey } from "./parking.js";

/** Which parked dead letter to discard: by its event id, or by key when it had no valid event id. */
export type DiscardTarget =
  | { readonly consumerGroup: string; readonly eventId: string }
  | { readonly consumerGroup: string; readonly topic: string; readonly key: string };

/** What to discard, why, and who decided it (both recorded in `dead_letter_resolution`). */
export type DiscardDeadLetterOptions = DiscardTarget & {
  readonly reason: string;
  readonly by: string;
};

/** The key a discard released; its parked events are applied by the running consumer. */
export interface DiscardedDeadLetter {
  readonly consumerGroup: string;
  readonly topic: string;
  readonly key: string;
  readonly eventId: string | undefined;
}

/** Why nothing was discarded. */
export type DiscardDeadLetterError =
  | { readonly code: "reason_required" }
  | { readonly code: "by_required" }
  | { readonly code: "invalid_event_id"; readonly value: string }
  | { readonly code: "not_parked"; readonly message: string };

/**
 * Gives up on a dead letter that parks its key, for the one consumer group that parked it: records
 * who discarded it and why, marks the event as handled in that group's inbox (so a later replay of
 * the same letter is skipped instead of being applied out of order), and releases the key. The
 * group's running consumer then applies the key's parked events in order (within its
 * `parkedPollIntervalMs`). Use it when the event must never take effect — after the fix, prefer
 * replaying it. A dead letter that does not park a key (already replayed or discarded, another
 * group, a mistyped id) is the error value `not_parked`; an empty reason is `reason_required`.
 */
export async function discardDeadLetter(
  pool: Pool,
  options: DiscardDeadLetterOptions,
): Promise<Result<DiscardedDeadLetter, DiscardDeadLetterError>> {
  if (options.reason.trim() === "") return err({ code: "reason_required" });
  if (options.by.trim() === "") return err({ code: "by_required" });
  if ("eventId" in options && !uuidPattern.test(options.eventId)) return err({ code: "invalid_event_id", value: options.eventId });
  const tx = await pool.connect();
  try {
    await tx.query("BEGIN");
    const { rows } =
      "eventId" in options
        ? await tx.query<ParkedRow>(
            `SELECT ${parkedColumns} FROM "parked_key"
              WHERE "consumer_group" = $1 AND "dead_letter_event_id" = $2 AND "released_at" IS NULL
                FOR UPDATE`,
            [options.consumerGroup, options.eventId.toLowerCase()],
          )
        : await tx.query<ParkedRow>(
            `SELECT ${parkedColumns} FROM "parked_key"
              WHERE "consumer_group" = $1 AND "topic" = $2 AND "message_key" = $3 AND "released_at" IS NULL
                FOR UPDATE`,
            [options.consumerGroup, options.topic, options.key],
          );
    const parked = rows[0];
    if (parked === undefined || rows.length > 1) {
      await tx.query("ROLLBACK");
      const what = "eventId" in options ? `event ${options.eventId}` : `key ${options.key} on ${options.topic}`;
      return err({
        code: "not_parked",
        message:
          parked === undefined
            ? `no key of group ${options.consumerGroup} is parked behind the dead letter of ${what}`
            : `the dead letter of ${what} parks several keys of group ${options.consumerGroup}; discard by topic and key`,
      });
    }
    const scope = { consumerGroup: parked.consumer_group, topic: parked.topic };
    if (parked.dead_letter_event_id !== null) {
      await tx.query(
        `INSERT INTO "inbox" ("consumer_group", "event_id", "topic", "partition", "offset")
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [parked.consumer_group, parked.dead_letter_event_id, parked.topic, parked.dead_letter_partition, parked.dead_letter_offset],
      );
    }
    await releaseKey(tx, scope, parked.message_key, { kind: "discarded", reason: options.reason, by: options.by });
    await tx.query("COMMIT");
    return ok({ ...scope, key: parked.message_key, eventId: parked.dead_letter_event_id ?? undefined });
  } catch (error) {
    await tx.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    tx.release();
  }
}

/** A key parked behind a dead letter, for operators. */
export interface ParkedKey {
  readonly consumerGroup: string;
  readonly topic: string;
  readonly key: string;
  readonly deadLetterEventId: string | undefined;
  readonly reason: string;
  readonly parkedAt: Date;
  /** Set once the dead letter was replayed or discarded: the key is draining. */
  readonly releasedAt: Date | undefined;
  /** How many of its events wait behind the dead letter. */
  readonly parkedEvents: number;
}

/**
 * Lists the keys that are parked (or still draining) in a service database, optionally for one
 * consumer group, with how many events wait behind each: what an operator looks at before
 * replaying or discarding their dead letters.
 */
export async function listParkedKeys(pool: Pool, options: { readonly consumerGroup?: string } = {}): Promise<ParkedKey[]> {
  const { rows } = await pool.query<ParkedRow & { parked_at: Date; released_at: Date | null; parked_events: number }>(
    `SELECT ${parkedColumns.split(", ").map((c) => `k.${c}`).join(", ")}, k."parked_at", k."released_at",
            (SELECT count(*)::int FROM "parked_event" e
              WHERE e."consumer_group" = k."consumer_group" AND e."topic" = k."topic" AND e."message_key" = k."message_key") AS "parked_events"
       FROM "parked_key" k
      WHERE $1::text IS NULL OR k."consumer_group" = $1
      ORDER BY k."parked_at", k."message_key"`,
    [options.consumerGroup ?? null],
  );
  return rows.map((row) => ({
    consumerGroup: row.consumer_group,
    topic: row.topic,
    key: row.message_key,
    deadLetterEventId: row.dead_letter_event_id ?? undefined,
    reason: row.reason,
    parkedAt: row.parked_at,
    releasedAt: row.released_at ?? undefined,
    parkedEvents: row.parked_events,
  }));
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface ParkedRow {
  consumer_group: string;
  topic: string;
  message_key: string;
  dead_letter_event_id: string | null;
  dead_letter_partition: number;
  dead_letter_offset: string;
  reason: string;
}

const parkedColumns = `"consumer_group", "topic", "message_key", "dead_letter_event_id", "dead_letter_partition", "dead_letter_offset", "reason"`;
