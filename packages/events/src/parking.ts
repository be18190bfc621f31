/**
 * Internal: the SQL of key parking (tables `parked_key`, `parked_event`, `dead_letter_resolution`
 * from `shared-tables/`). A key whose event was dead-lettered is parked: its later events are
 * stored here in arrival order instead of being handled, until the dead letter is replayed and
 * applied or discarded; then the key drains (its parked events are applied in order) and its row
 * is deleted. Every statement runs in the caller's transaction. The `parked_key` row is the lock
 * that orders a live event of a key against the drain of that key.
 */
import type { Pool, PoolClient } from "pg";

/** What the consumer needs to know about a parked key while it sorts a batch. */
export interface ParkedKeyState {
  /** The dead-lettered event that parked the key; undefined if it had no valid event id. */
  readonly deadLetterEventId: string | undefined;
  /** The dead letter was replayed or discarded; the key is draining its parked events. */
  readonly released: boolean;
}

/** A message stored behind a parked key, as it was received. */
export interface ParkedMessage {
  readonly key: string;
  readonly eventId: string | undefined;
  readonly partition: number;
  readonly offset: string;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

/** A parked message as read back for draining, with its queue position. */
export interface ParkedEventRow extends ParkedMessage {
  readonly id: string;
}

/** The dead letter that parks a key. */
export interface ParkingDeadLetter {
  readonly key: string;
  readonly eventId: string | undefined;
  readonly partition: number;
  readonly offset: string;
  readonly reason: string;
}

/** How a parked key's dead letter was resolved. */
export type Resolution =
  | { readonly kind: "replayed" }
  | { readonly kind: "discarded"; readonly reason: string; readonly by: string };

/** Where a consumer's parking rows live: its group and topic. */
export interface ParkingScope {
  readonly consumerGroup: string;
  readonly topic: string;
}

/**
 * Locks the `parked_key` rows of those keys that are parked or draining (FOR UPDATE, in key order,
 * so two lockers never deadlock) and returns their state; keys that flow are absent. A drain of one
 * of these keys that is in flight finishes first; a key whose drain finished meanwhile is absent.
 */
export async function lockParkedKeys(
  tx: PoolClient,
  scope: ParkingScope,
  keys: readonly string[],
): Promise<Map<string, ParkedKeyState>> {
  const { rows } = await tx.query<{ message_key: string; dead_letter_event_id: string | null; released: boolean }>({
    name: "tributary-parked-key-lock",
    text: `SELECT "message_key", "dead_letter_event_id", "released_at" IS NOT NULL AS "released"
             FROM "parked_key"
            WHERE "consumer_group" = $1 AND "topic" = $2 AND "message_key" = ANY($3::text[])
            ORDER BY "message_key"
              FOR UPDATE`,
    values: [scope.consumerGroup, scope.topic, [...new Set(keys)]],
  });
  return new Map(
    rows.map((row) => [row.message_key, { deadLetterEventId: row.dead_letter_event_id ?? undefined, released: row.released }]),
  );
}

/** Appends messages behind their parked keys, in the given order; a redelivered offset is stored once. */
export async function parkEvents(tx: PoolClient, scope: ParkingScope, messages: readonly ParkedMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await tx.query({
    name: "tributary-parked-event-insert",
    text: `INSERT INTO "parked_event" ("consumer_group", "topic", "message_key", "event_id", "partition", "offset", "value", "headers")
           SELECT $1, $2, k, e, p, o, v, h
             FROM unnest($3::text[], $4::uuid[], $5::int[], $6::bigint[], $7::bytea[], $8::jsonb[]) WITH ORDINALITY AS u(k, e, p, o, v, h, n)
            ORDER BY n
           ON CONFLICT ("consumer_group", "topic", "partition", "offset") DO NOTHING`,
    values: [
      scope.consumerGroup,
      scope.topic,
      messages.map((m) => m.key),
      messages.map((m) => m.eventId ?? null),
      messages.map((m) => m.partition),
      messages.map((m) => m.offset),
      messages.map((m) => m.value),
      messages.map((m) => JSON.stringify(m.headers)),
    ],
  });
}

/**
 * Parks a key behind its dead letter (or parks it again behind a new one, ending a drain): from
 * now on its events are stored, not handled, until that dead letter is replayed or discarded.
 */
export async function parkKey(tx: PoolClient, scope: ParkingScope, deadLetter: ParkingDeadLetter): Promise<void> {
  await tx.query({
    name: "tributary-parked-key-upsert",
    text: `INSERT INTO "parked_key" ("consumer_group", "topic", "message_key", "dead_letter_event_id", "dead_letter_partition", "dead_letter_offset", "reason")
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT ("consumer_group", "topic", "message_key") DO UPDATE
              SET "dead_letter_event_id" = EXCLUDED."dead_letter_event_id",
                  "dead_letter_partition" = EXCLUDED."dead_letter_partition",
                  "dead_letter_offset" = EXCLUDED."dead_letter_offset",
                  "reason" = EXCLUDED."reason",
                  "parked_at" = now(),
                  "released_at" = NULL`,
    values: [scope.consumerGroup, scope.topic, deadLetter.key, deadLetter.eventId ?? null, deadLetter.partition, deadLetter.offset, deadLetter.reason],
  });
}

/**
 * Releases a parked key whose row the caller has locked: records the resolution and starts the
 * drain. Returns false if the key was not parked (already released, or never parked).
 */
export async function releaseKey(tx: PoolClient, scope: ParkingScope, key: string, resolution: Resolution): Promise<boolean> {
  const { rowCount } = await tx.query({
    name: "tributary-parked-key-release",
    text: `WITH released AS (
             UPDATE "parked_key" SET "released_at" = now()
              WHERE "consumer_group" = $1 AND "topic" = $2 AND "message_key" = $3 AND "released_at" IS NULL
             RETURNING "consumer_group", "topic", "message_key", "dead_letter_event_id", "reason")
           INSERT INTO "dead_letter_resolution" ("consumer_group", "topic", "message_key", "event_id", "dead_letter_reason", "resolution", "reason", "resolved_by")
           SELECT "consumer_group", "topic", "message_key", "dead_letter_event_id", "reason", $4, $5, $6 FROM released`,
    values: [
      scope.consumerGroup,
      scope.topic,
      key,
      resolution.kind,
      resolution.kind === "discarded" ? resolution.reason : null,
      resolution.kind === "discarded" ? resolution.by : null,
    ],
  });
  return rowCount === 1;
}

/** The keys of a consumer that are released and still have to drain. */
export async function releasedKeys(pool: Pool, scope: ParkingScope): Promise<string[]> {
  const { rows } = await pool.query<{ message_key: string }>(
    `SELECT "message_key" FROM "parked_key"
      WHERE "consumer_group" = $1 AND "topic" = $2 AND "released_at" IS NOT NULL
      ORDER BY "released_at"`,
    [scope.consumerGroup, scope.topic],
  );
  return rows.map((row) => row.message_key);
}

/**
 * Locks a released key for one drain step; false if it is not released (parked again, or gone)
 * or another drainer holds it right now (SKIP LOCKED: that one is applying its next event).
 */
export async function lockReleasedKey(tx: PoolClient, scope: ParkingScope, key: string): Promise<boolean> {
  const { rows } = await tx.query(
    `SELECT 1 FROM "parked_key"
      WHERE "consumer_group" = $1 AND "topic" = $2 AND "message_key" = $3 AND "released_at" IS NOT NULL
        FOR UPDATE SKIP LOCKED`,
    [scope.consumerGroup, scope.topic, key],
  );
  return rows.length === 1;
}

/** The oldest parked event of a key, if any. */
export async function nextParkedEvent(tx: PoolClient, scope: ParkingScope, key: string): Promise<ParkedEventRow | undefined> {
  const { rows } = await tx.query<{
    id: string;
    event_id: string | null;
    partition: number;
    offset: string;
    value: Buffer | null;
    headers: Record<string, string>;
  }>(
    `SELECT "id", "event_id", "partition", "offset", "value", "headers" FROM "parked_event"
      WHERE "consumer_group" = $1 AND "topic" = $2 AND "message_key" = $3
      ORDER BY "id" LIMIT 1`,
    [scope.consumerGroup, scope.topic, key],
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  return {
    id: row.id,
    key,
    eventId: row.event_id ?? undefined,
    partition: row.partition,
    offset: row.offset,
    value: row.value,
    headers: row.headers,
  };
}

/** Removes a parked event once it was applied or dead-lettered; false if it was already gone. */
export async function deleteParkedEvent(tx: PoolClient, id: string): Promise<boolean> {
  const { rowCount } = await tx.query(`DELETE FROM "parked_event" WHERE "id" = $1`, [id]);
  return rowCount === 1;
}

/** Ends a drain whose last parked event was applied: the key flows again. */
export async function deleteParkedKey(tx: PoolClient, scope: ParkingScope, key: string): Promise<void> {
  await tx.query(`DELETE FROM "parked_key" WHERE "consumer_group" = $1 AND "topic" = $2 AND "message_key" = $3`, [
    scope.consumerGroup,
    scope.topic,
    key,
  ]);
}
