import { toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { context, propagation, SpanKind, trace, type Context } from "@opentelemetry/api";
import { findTopicMessage, type TopicDefinition } from "@tributary/contracts";
import { createHash } from "node:crypto";
import type { PoolClient } from "pg";
import { envelopeHeaders, protobufContentType } from "./envelope-headers.js";
import { messagingAttributes } from "./messaging-attributes.js";
import { newEventId } from "./new-event-id.js";

/** The schema version every envelope carries today; bumped with a breaking contract change. */
export const currentSchemaVersion = "1";

/** One event for one schema; `message` must be a message of exactly that schema. */
type OutboxEventOf<S extends DescMessage> = S extends DescMessage
  ? {
      /** The aggregate id: the Kafka key, so one aggregate's events stay in order. */
      readonly key: string;
      readonly schema: S;
      readonly message: MessageShape<S>;
      /** Set it to make an append idempotent (a retried request appends the same event id). */
      readonly eventId?: string;
      readonly occurredAt?: Date;
      /**
       * The trace this event continues, when it is not the active one: a batch that commits
       * several callers' work at once gives each event its own caller's context.
       */
      readonly traceContext?: Context;
    }
  : never;

/**
 * One event to append to the outbox. The schema must be one of `topic.messages`, and the message
 * must be of that schema: both are compile errors otherwise (and a thrown invariant at runtime).
 */
export type OutboxEvent<T extends TopicDefinition> = OutboxEventOf<T["messages"][number]>;

/**
 * The rows of one append, in one statement that first takes the keys' advisory locks
 * ({@link outboxKeyLockClass}, {@link outboxKeyLockId}): the `locked` CTE is materialized, so all
 * its locks are held once it has produced its one row, which the join reads before it yields any
 * row to insert — every id (`nextval`) is drawn under the locks. unnest keeps the array's order, so
 * the locks are taken in ascending order and two transactions appending overlapping sets of keys
 * in one call each cannot deadlock. One round trip, where a lock query and then the INSERT were two.
 */
const lockKeysAndInsertOutboxRows = `
WITH "locked" AS MATERIALIZED (
  SELECT count(pg_advisory_xact_lock($7::int, l)) AS "keys" FROM unnest($8::int[]) AS v(l)
)
INSERT INTO "outbox" ("event_id", "topic", "message_key", "event_type", "payload", "headers")
SELECT e, t, k, y, p, h
FROM "locked", unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::jsonb[])
  WITH ORDINALITY AS u(e, t, k, y, p, h, n)
WHERE "locked"."keys" >= 0
ORDER BY n`;

/**
 * The first key of the two-int advisory locks that serialise appends per topic and key ('outb' in
 * ASCII). The two-int form lives in a different lock space from the relay's one-bigint leader
 * lock, so the two can never collide.
 */
export const outboxKeyLockClass = 0x6f757462;

/**
 * The second advisory-lock key of one topic and message key: the first 32 bits of their SHA-256,
 * as a signed int4. Computed here rather than with Postgres' `hashtext` so every caller of this
 * library, whatever its server version, locks the same number for the same key. A collision only
 * makes two unrelated keys wait for each other; it never breaks order.
 */
export function outboxKeyLockId(topic: string, key: string): number {
  return createHash("sha256").update(topic).update("\0").update(key).digest().readInt32BE(0);
}


/**
 * Appends events to the service's `outbox` table inside the caller's transaction `tx`, so they
 * are published if and only if the state change they describe commits. One multi-row INSERT per
 * call; the statement trigger NOTIFYs the relay on commit. Each event gets a `create` span (OTel
 * messaging conventions) whose context is stored in the row's headers as `traceparent`, so the
 * trace continues across the outbox to every consumer. Returns the event ids in order.
 *
 * Per-key order is enforced here, not left to the caller: before the INSERT it takes a
 * transaction-scoped advisory lock per (topic, key), held until `tx` commits or rolls back. A
 * second transaction appending for the same key waits at that lock until the first has ended, so
 * its rows get their BIGSERIAL ids only after the first's rows were committed: for one key, `id`
 * order is commit order, which is the order the relay publishes in. (Without the lock a
 * transaction that drew a lower id could commit after one that drew a higher id.) The lock costs
 * one round trip per call and serialises concurrent writers of one key, which per-key order needs
 * anyway. A transaction that calls this twice with keys in opposite order to another transaction
 * can deadlock; Postgres aborts one of them (SQLSTATE 40P01) and its caller retries.
 */
export async function appendToOutbox<T extends TopicDefinition>(
  tx: PoolClient,
  producer: string,
  topic: T,
  events: readonly OutboxEvent<T>[],
): Promise<string[]> {
  if (events.length === 0) return [];
  const tracer = trace.getTracer("@tributary/events");
  const ids: string[] = [];
  const topics: string[] = [];
  const keys: string[] = [];
  const types: string[] = [];
  const payloads: Buffer[] = [];
  const headerTexts: string[] = [];
  for (const event of events) {
    const schema: DescMessage = event.schema;
    if (findTopicMessage(topic, schema.typeName) === undefined) {
      throw new Error(`${schema.typeName} is not a message type of topic ${topic.name}`);
    }
    const eventId = event.eventId ?? newEventId();
    const parent = event.traceContext ?? context.active();
    const span = tracer.startSpan(`create ${topic.name}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        [messagingAttributes.system]: "kafka",
        [messagingAttributes.destinationName]: topic.name,
        [messagingAttributes.operationType]: "create",
        [messagingAttributes.operationName]: "create",
        [messagingAttributes.messageId]: eventId,
        [messagingAttributes.kafkaMessageKey]: event.key,
      },
    }, parent);
    const headers = envelopeHeaders({
      eventId,
      eventType: schema.typeName,
      schemaVersion: currentSchemaVersion,
      producer,
      occurredAt: event.occurredAt ?? new Date(),
      contentType: protobufContentType,
    });
    propagation.inject(trace.setSpan(parent, span), headers);
    span.end();
    ids.push(eventId);
    topics.push(topic.name);
    keys.push(event.key);
    types.push(schema.typeName);
    payloads.push(Buffer.from(toBinary(schema, event.message)));
    headerTexts.push(JSON.stringify(headers));
  }
  const lockIds = [...new Set(keys.map((key) => outboxKeyLockId(topic.name, key)))].sort((a, b) => a - b);
  // The locks come before the rows, in the same statement: the ids (nextval) must be drawn while the key is locked.
  await tx.query(lockKeysAndInsertOutboxRows, [ids, topics, keys, types, payloads, headerTexts, outboxKeyLockClass, lockIds]);
  return ids;
}
