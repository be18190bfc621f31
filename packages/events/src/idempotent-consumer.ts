import { fromBinary, type DescMessage } from "@bufbuild/protobuf";
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
} from "@opentelemetry/api";
import { type TopicDefinition, type TopicMessage } from "@tributary/contracts";
import { createLogger, messagingMetrics, type Logger, type MessagingMetrics } from "@tributary/telemetry";
import type { IHeaders, Kafka, Producer } from "kafkajs";
import type { Pool, PoolClient, QueryResult } from "pg";
import { deadLetterHeaderNames } from "./dead-letter-headers.js";
import {
  createEnvelopeReader,
  envelopeHeaderNames,
  kafkaHeadersGetter,
  kafkaHeadersToRecord,
  type EnvelopeFields,
} from "./envelope-headers.js";
import { createIdempotentProducer } from "./idempotent-producer.js";
import { messagingAttributes } from "./messaging-attributes.js";
import { isInfrastructureError, isTransactionConflict } from "@tributary/infrastructure-error";
import { isNonRetryableError } from "./non-retryable-error.js";
import {
  deleteParkedEvent,
  deleteParkedKey,
  lockParkedKeys,
  lockReleasedKey,
  nextParkedEvent,
  parkEvents,
  parkKey,
  releasedKeys,
  releaseKey,
  type ParkedEventRow,
  type ParkedKeyState,
  type ParkedMessage,
  type ParkingScope,
} from "./parking.js";
import { createOffsetCommitter } from "./offset-committer.js";
import { sleep } from "./sleep.js";

/** One decoded event as a handler sees it. */
export interface ConsumedEvent<T extends TopicDefinition> {
  readonly eventId: string;
  /** The protobuf full name; `message.$typeName` says the same and narrows the union. */
  readonly eventType: string;
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  /** The Kafka offset, as kafkajs gives it (a decimal string). */
  readonly offset: string;
  readonly occurredAt: Date;
  readonly producer: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly message: TopicMessage<T>;
}

/** How a service consumes one topic: the common options plus exactly one kind of handler. */
export type IdempotentConsumerOptions<T extends TopicDefinition> = ConsumerSettings<T> &
  (
    | {
        /**
         * Applies one event inside the database transaction that also records it in the inbox;
         * may call `appendToOutbox(tx, …)`. Throw `NonRetryableError` for input that can never
         * succeed; anything else thrown is retried with backoff, then dead-lettered. Its
         * `process` span is a child of the producer's span (the trace continues).
         */
        readonly handle: (event: ConsumedEvent<T>, tx: PoolClient) => Promise<void>;
        readonly handleBatch?: never;
      }
    | {
        /**
         * Applies a run of events of one partition, in offset order, that are all new to the
         * inbox, in one transaction (e.g. one multi-row INSERT for a projection). Same error
         * rules as `handle`: when it throws, the events are retried one at a time, so a poison
         * event is isolated. Its `process` span links to each producer's span.
         */
        readonly handleBatch: (events: readonly ConsumedEvent<T>[], tx: PoolClient) => Promise<void>;
        readonly handle?: never;
      }
  );

/** The options every idempotent consumer takes, whichever handler it has. */
export interface ConsumerSettings<T extends TopicDefinition> {
  readonly kafka: Kafka;
  /** The service's database, holding its `inbox` table and the handler's state. */
  readonly pool: Pool;
  readonly groupId: string;
  readonly topic: T;
  /**
   * Attempts per message before it is dead-lettered; 5 unless told. Transaction conflicts
   * (serialization failure 40001, deadlock 40P01) are retried without counting, and outages are
   * handed back to kafkajs: neither ever dead-letters an event.
   */
  readonly maxAttempts?: number;
  /** First retry delay, doubled per attempt up to 5 s; 200 ms unless told. */
  readonly retryBackoffMs?: number;
  /** Messages applied per database transaction on the happy path; 2000 unless told (larger runs amortise BEGIN/COMMIT and the inbox INSERT; a kafkajs batch is ~1 MB per partition). */
  readonly chunkSize?: number;
  /** Where a new group starts; the earliest offset unless told (losing events loses money). */
  readonly fromBeginning?: boolean;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** Longest a fetch waits for data; 500 ms unless told. */
  readonly maxWaitTimeMs?: number;
  readonly partitionsConsumedConcurrently?: number;
  /** Most bytes one fetch brings per partition (kafkajs' default, 1 MiB, unless told); a batch is at most this. */
  readonly maxBytesPerPartition?: number;
  /**
   * How often the consumer looks for parked keys whose dead letter was discarded by
   * `discardDeadLetter` (another process) and applies their parked events; 1000 ms unless told.
   * A replayed dead letter drains its key at once, without waiting for this.
   */
  readonly parkedPollIntervalMs?: number;
  readonly logger?: Logger;
  readonly metrics?: MessagingMetrics;
}

/** A running consumer. */
export interface IdempotentConsumer {
  /** Leaves the group after the chunk in flight (and the drain step in flight); its resolved offsets are committed. */
  stop(): Promise<void>;
}

/** What the consumer reads of a Kafka message: a live one, or a parked one read back from the database. */
interface RawMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders | undefined;
  readonly offset: string;
}

/** A message decoded against the topic registry, ready for its handler. */
interface Decoded<T extends TopicDefinition> {
  readonly raw: RawMessage;
  readonly event: ConsumedEvent<T>;
}

/** The message an attempt is about, as a dead letter would describe it. */
interface Subject {
  readonly raw: RawMessage;
  readonly partition: number;
  /** The message's key; undefined when it has none (then there is no key to park). */
  readonly key: string | undefined;
  /** The envelope's event id if it had a valid one: the replay of this id releases the key. */
  readonly eventId: string | undefined;
}

/** A message that will not be handled, and why; it goes to the dead-letter topic and parks its key. */
interface Rejected extends Subject {
  readonly reason: string;
  readonly attempts: number;
}

/** A committed transaction's outcome: the keys whose replayed dead letter it applied (now draining). */
interface Applied {
  readonly released: readonly string[];
}

/**
 * A chunk as the happy path reads it before its first statement: every message's envelope (checked
 * as `decode` checks it, the protobuf bytes not yet decoded) and the inbox statement's array
 * literals. The path empties `envelopes` once the events are made, so that they do not live on
 * through the rest of the transaction.
 */
interface ChunkEnvelopes {
  readonly envelopes: EnvelopeFields[];
  readonly eventIds: string;
  readonly offsets: string;
}

/**
 * How the careful path (`processChunkCarefully`) first tries each run of a chunk: in one
 * transaction (`together`), in one that skips events the inbox has seen (`skipping_seen`, after
 * the happy path found one there), or one event per transaction with retries (`alone`, after the
 * happy path's transaction failed).
 */
type FirstTry = "together" | "skipping_seen" | "alone";

// The happy path: a chunk of events the inbox has never seen. A plain INSERT costs Postgres about
// half of an ON CONFLICT one (no speculative insertion) and sends no rows back; if any event is
// already there (a redelivery), the primary key refuses the whole statement and the chunk is
// redone with the statement below, so exactly-once rests on the key either way.
const insertNewInboxRows = `
INSERT INTO "inbox" ("consumer_group", "event_id", "topic", "partition", "offset")
SELECT $1, e, $2, $3, o FROM unnest($4::uuid[], $5::bigint[]) AS u(e, o)`;

// The happy path's first round trip: BEGIN, then the same INSERT, made only if no key of this group
// and topic is parked or draining, which it reports. One round trip instead of BEGIN, a keyed lock
// query and then the INSERT; the check reads `parked_key` in the transaction's snapshot, exactly as
// the keyed query does, so replicas are as safe as with it. When some key is parked, nothing is
// inserted and the transaction goes on with the keyed path (lock the batch's parked keys, park
// behind them). Values go in as literals, since only the simple query protocol carries two
// statements in one message: the group and topic quoted by pg's `escapeLiteral`, the partition an
// integer, and the arrays checked to hold nothing but UUIDs and decimal offsets.
const beginAndInsertNewInboxRowsUnlessParked = (group: string, topic: string, partition: number, eventIds: string, offsets: string): string => `
BEGIN;
WITH "parked" AS (
  SELECT EXISTS (SELECT 1 FROM "parked_key" WHERE "consumer_group" = ${group} AND "topic" = ${topic}) AS "any"
), "inserted" AS (
  INSERT INTO "inbox" ("consumer_group", "event_id", "topic", "partition", "offset")
  SELECT ${group}, e, ${topic}, ${partition}, o FROM unnest('${eventIds}'::uuid[], '${offsets}'::bigint[]) AS u(e, o), "parked" WHERE NOT "parked"."any"
)
SELECT "any" AS "parked" FROM "parked"`;

// What may sit inside the quoted array literals: nothing that could end the quote or the array (one
// linear scan of a character class per chunk; Postgres checks the elements themselves).
/** An array literal of UUIDs, as `inboxValues` builds it from validated, lower-cased event ids. */
const uuidArrayLiteral = /^\{[0-9a-f,-]+\}$/;
/** An array literal of Kafka offsets, as `inboxValues` builds it. */
const offsetArrayLiteral = /^\{[0-9,]+\}$/;

const insertInboxRowsSkippingSeen = `
INSERT INTO "inbox" ("consumer_group", "event_id", "topic", "partition", "offset")
SELECT $1, e, $2, $3, o FROM unnest($4::uuid[], $5::bigint[]) AS u(e, o)
ON CONFLICT DO NOTHING
RETURNING "event_id"`;

/** Postgres' SQLSTATE for a unique violation. */
const uniqueViolation = "23505";

const maxBackoffMs = 5_000;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Starts an idempotent consumer of one topic. Each message is decoded by its `event-type`
 * header against the topic registry and applied by `handle` in a database transaction that also
 * inserts `(groupId, eventId)` into the inbox; a message whose event id is already there is
 * skipped, so redeliveries and replays have one effect. It consumes with `eachBatch`, handing
 * each batch to a per-partition pipeline so that the next fetch overlaps its transactions, heartbeats
 * between chunks and while backing off, and commits a chunk's offset only after its transaction
 * committed or its dead letter was acknowledged (kafkajs' own autoCommit is off). An undecodable message (no key, a missing or
 * empty envelope header, an unknown type, bad bytes), a `NonRetryableError`, or a message still
 * failing after `maxAttempts` goes to `<topic>.dlq` with its original key, bytes and headers plus
 * the reason, group and attempt count, and the partition moves on. Transaction conflicts (40001,
 * 40P01) are retried without limit and outages handed back to kafkajs, never dead-lettered.
 *
 * Per-key order survives a dead letter: its key is parked (in `parked_key`, after the dead letter
 * is acknowledged), and the key's later events are stored in `parked_event` in arrival order
 * instead of being handled, while other keys flow. When the dead letter comes back (a replay) and
 * applies, or is discarded with `discardDeadLetter`, the key drains: its parked events are applied
 * in order, one per transaction, each through the inbox; a parked event that fails for good is
 * dead-lettered and parks the key again behind itself. Resolves once the consumer has joined its group.
 */
export async function startIdempotentConsumer<T extends TopicDefinition>(
  options: IdempotentConsumerOptions<T>,
): Promise<IdempotentConsumer> {
  if ((options.handle === undefined) === (options.handleBatch === undefined)) {
    throw new Error("startIdempotentConsumer needs exactly one of handle and handleBatch");
  }
  const maxAttempts = options.maxAttempts ?? 5;
  const retryBackoffMs = options.retryBackoffMs ?? 200;
  const chunkSize = options.chunkSize ?? 2_000;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1_000;
  const parkedPollIntervalMs = options.parkedPollIntervalMs ?? 1_000;
  const logger = options.logger ?? createLogger({ serviceName: options.groupId });
  const metrics = options.metrics ?? messagingMetrics();
  const tracer = trace.getTracer("@tributary/events");
  const topicName = options.topic.name;
  const scope: ParkingScope = { consumerGroup: options.groupId, topic: topicName };
  const baseAttributes = {
    [messagingAttributes.system]: "kafka",
    [messagingAttributes.destinationName]: topicName,
    [messagingAttributes.consumerGroupName]: options.groupId,
  };

  const deadLetters: Producer = createIdempotentProducer(options.kafka);
  await deadLetters.connect();
  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 10_000,
    heartbeatInterval: heartbeatIntervalMs,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 500,
    ...(options.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: options.maxBytesPerPartition }),
  });
  await consumer.connect();
  await consumer.subscribe({ topic: topicName, fromBeginning: options.fromBeginning ?? true });

  /**
   * Decodes a message, checking every part of the envelope the consumer relies on: a key (the
   * aggregate id that orders and parks events; an empty one is refused, not treated as one shared
   * key), the envelope headers, a type this topic carries, and bytes that parse as that type.
   */
  /** The topic's message schemas by type name, looked up once per message. */
  const schemaByType = new Map<string, DescMessage>();
  for (const schema of options.topic.messages) {
    // The first schema of a name wins, as in `findTopicMessage`.
    if (!schemaByType.has(schema.typeName)) schemaByType.set(schema.typeName, schema);
  }
  const readEnvelope = createEnvelopeReader();
  const decode = (partition: number, raw: RawMessage): Decoded<T> | Rejected => {
    const key = raw.key === null || raw.key.length === 0 ? undefined : raw.key.toString("utf8");
    // No closure made per message here (decode runs for every one): rejections go through `rejection`.
    if (key === undefined) return rejection(raw, partition, key, "missing_key: the message has no key (the aggregate id)");
    const envelope = readEnvelope(raw.headers);
    if ("code" in envelope) {
      return rejection(raw, partition, key, `${envelope.code}: ${envelope.header}${"value" in envelope ? ` = ${envelope.value}` : ""}`);
    }
    const empty = blankHeader(envelope.eventType, envelope.schemaVersion, envelope.producer);
    if (empty !== undefined) return rejection(raw, partition, key, `empty_header: ${empty}`);
    const schema: DescMessage | undefined = schemaByType.get(envelope.eventType);
    if (schema === undefined) {
      return rejection(raw, partition, key, `unknown_event_type: ${envelope.eventType} is not carried by ${topicName}`);
    }
    return decodeValue(partition, raw, key, envelope, schema);
  };

  /** The last step of `decode`: the protobuf bytes, by the schema the envelope named. */
  const decodeValue = (partition: number, raw: RawMessage, key: string, envelope: EnvelopeFields, schema: DescMessage): Decoded<T> | Rejected => {
    let message: TopicMessage<T>;
    try {
      message = fromBinary(schema, raw.value ?? new Uint8Array()) as TopicMessage<T>;
    } catch (error) {
      return rejection(raw, partition, key, `undecodable: ${error instanceof Error ? error.message : String(error)}`);
    }
    const { eventId, eventType, producer, occurredAtMs } = envelope;
    return {
      raw,
      event: new LiveEvent<T>(eventId, eventType, key, topicName, partition, raw.offset, occurredAtMs, producer, raw.headers, message),
    };
  };

  /**
   * The happy path's first pass over a chunk: every envelope, checked as `decode` checks it, and
   * the inbox statement's array literals; undefined as soon as one message would be rejected before
   * its bytes are decoded (no key, a bad envelope, a type the topic does not carry): such a chunk
   * takes the careful path, which deals with the message at its place.
   */
  const readChunkEnvelopes = (messages: readonly RawMessage[]): ChunkEnvelopes | undefined => {
    const envelopes: EnvelopeFields[] = [];
    // Array literals built here, in one pass: event ids are validated UUIDs and offsets decimal
    // strings, so neither needs the quoting and escaping pg would spend on every element.
    let eventIds = "{";
    let offsets = "{";
    for (let i = 0; i < messages.length; i += 1) {
      const raw = messages[i]!;
      if (raw.key === null || raw.key.length === 0) return undefined;
      const envelope = readEnvelope(raw.headers);
      if ("code" in envelope) return undefined;
      if (blankHeader(envelope.eventType, envelope.schemaVersion, envelope.producer) !== undefined) return undefined;
      if (!schemaByType.has(envelope.eventType)) return undefined;
      envelopes.push(envelope);
      const separator = i === 0 ? "" : ",";
      eventIds += separator + envelope.eventId;
      offsets += separator + raw.offset;
    }
    return { envelopes, eventIds: `${eventIds}}`, offsets: `${offsets}}` };
  };

  /**
   * The happy path's second pass, after the inbox INSERT: the protobuf bytes of every message of
   * the chunk, made into events; undefined if any does not decode (the chunk then takes the
   * careful path). Empties `chunk.envelopes`: the events hold what the transaction still needs.
   */
  const decodeChunk = (partition: number, messages: readonly RawMessage[], chunk: ChunkEnvelopes): Decoded<T>[] | undefined => {
    const envelopes = chunk.envelopes;
    const decoded: Decoded<T>[] = [];
    for (let i = 0; i < messages.length; i += 1) {
      const raw = messages[i]!;
      const envelope = envelopes[i]!;
      // readChunkEnvelopes checked the key and the type.
      const result = decodeValue(partition, raw, raw.key!.toString("utf8"), envelope, schemaByType.get(envelope.eventType)!);
      if (!("event" in result)) return undefined;
      decoded.push(result);
    }
    envelopes.length = 0;
    return decoded;
  };

  /**
   * Runs the handler for events that are new to the inbox, inside `process` spans: with `handle`,
   * one span per event whose parent is the producer's span from the headers; with `handleBatch`,
   * one span for the run that links to every producer's span.
   */
  const runHandler = async (batch: readonly Decoded<T>[], tx: PoolClient): Promise<void> => {
    if (batch.length === 0) return;
    const handleBatch = options.handleBatch;
    if (handleBatch === undefined) {
      for (const decoded of batch) {
        await inProcessSpan([decoded], propagation.extract(context.active(), decoded.raw.headers, kafkaHeadersGetter), () =>
          options.handle(decoded.event, tx),
        );
      }
      return;
    }
    const only = batch.length === 1 ? batch[0] : undefined;
    const parent = only === undefined ? context.active() : propagation.extract(context.active(), only.raw.headers, kafkaHeadersGetter);
    await inProcessSpan(batch, parent, () => handleBatch(batch.map((d) => d.event), tx));
  };

  const inProcessSpan = async (batch: readonly Decoded<T>[], parent: Context, run: () => Promise<void>): Promise<void> => {
    const started = performance.now();
    const first = batch[0];
    const attributes: Attributes = {
      ...baseAttributes,
      [messagingAttributes.operationType]: "process",
      [messagingAttributes.operationName]: "process",
    };
    if (batch.length === 1 && first !== undefined) {
      attributes[messagingAttributes.messageId] = first.event.eventId;
      attributes[messagingAttributes.kafkaMessageKey] = first.event.key;
      attributes[messagingAttributes.partitionId] = String(first.event.partition);
      attributes[messagingAttributes.kafkaOffset] = Number(first.event.offset);
    } else {
      attributes[messagingAttributes.batchMessageCount] = batch.length;
    }
    const links: Link[] = [];
    if (batch.length > 1) {
      if (propagation.fields().length > 0) {
        for (const decoded of batch) {
          const producerSpan = trace.getSpanContext(propagation.extract(context.active(), decoded.raw.headers, kafkaHeadersGetter));
          if (producerSpan !== undefined) links.push({ context: producerSpan });
        }
      } else {
        // No propagator that reads any header (none registered: the API's no-op one, whose extract
        // returns the context it is given): every message would give the active context's span,
        // so it is looked up once rather than once per message.
        const activeSpan = trace.getSpanContext(context.active());
        if (activeSpan !== undefined) for (let i = 0; i < batch.length; i += 1) links.push({ context: activeSpan });
      }
    }
    await tracer.startActiveSpan(`process ${topicName}`, { kind: SpanKind.CONSUMER, attributes, links }, parent, async (span) => {
      try {
        await run();
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
        throw error;
      } finally {
        span.end();
        // Per message, so a batch handler's latency is comparable with a per-event one.
        metrics.handlerDuration.record((performance.now() - started) / 1_000 / batch.length, baseAttributes);
      }
    });
  };

  /** The inbox statements' parameters: group, topic, partition, event ids and offsets. */
  const inboxValues = (partition: number, batch: readonly Decoded<T>[]): unknown[] => {
    // Array literals built here, in one pass and without intermediate arrays: event ids are
    // validated UUIDs and offsets decimal strings, so neither needs the quoting and escaping pg
    // would spend on every element.
    let eventIds = "{";
    let offsets = "{";
    for (let i = 0; i < batch.length; i += 1) {
      const event = batch[i]!.event;
      const separator = i === 0 ? "" : ",";
      eventIds += separator + event.eventId;
      offsets += separator + event.offset;
    }
    return [options.groupId, topicName, partition, `${eventIds}}`, `${offsets}}`];
  };

  /** The group and topic as SQL literals, quoted once (by the first client that asks). */
  let literals: { readonly group: string; readonly topic: string } | undefined;

  /**
   * Begins the happy path's transaction and inserts the batch's inbox rows, unless some key of the
   * group and topic is parked; says whether one is (then nothing was inserted). Throws a unique
   * violation if an event is already in the inbox.
   */
  const beginAndInsertNewUnlessParked = async (tx: PoolClient, partition: number, eventIds: unknown, offsets: unknown): Promise<boolean> => {
    // Broken invariants, not operating errors: decode admits only UUID event ids, kafkajs gives decimal offsets.
    if (typeof eventIds !== "string" || !uuidArrayLiteral.test(eventIds)) throw new Error(`consumer: event ids not UUIDs: ${String(eventIds).slice(0, 200)}`);
    if (typeof offsets !== "string" || !offsetArrayLiteral.test(offsets)) throw new Error(`consumer: offsets not decimal: ${String(offsets).slice(0, 200)}`);
    if (!Number.isSafeInteger(partition) || partition < 0) throw new Error(`consumer: partition ${partition} is not a partition number`);
    literals ??= { group: tx.escapeLiteral(options.groupId), topic: tx.escapeLiteral(topicName) };
    const results: unknown = await tx.query(beginAndInsertNewInboxRowsUnlessParked(literals.group, literals.topic, partition, eventIds, offsets));
    // Two statements in one simple query: pg answers with one result per statement.
    const selected = Array.isArray(results) ? (results[1] as QueryResult<{ parked: boolean }> | undefined) : undefined;
    const parked = selected?.rows[0]?.parked;
    if (typeof parked !== "boolean") throw new Error("consumer: the inbox INSERT did not report whether a key is parked");
    return parked;
  };

  /**
   * Inserts the inbox rows; returns the events that were new (not yet applied), in order, each
   * event id once (of a duplicate inside the chunk, only the first copy). With `assumeNew` it
   * inserts them all or throws a unique violation, and returns the whole batch.
   */
  const recordInInbox = async (
    tx: PoolClient,
    partition: number,
    batch: readonly Decoded<T>[],
    assumeNew: boolean,
  ): Promise<readonly Decoded<T>[]> => {
    const values = inboxValues(partition, batch);
    if (assumeNew) {
      await tx.query({ name: "tributary-inbox-insert-new", text: insertNewInboxRows, values });
      return batch;
    }
    const { rows } = await tx.query<{ event_id: string }>({
      name: "tributary-inbox-insert-skipping-seen",
      text: insertInboxRowsSkippingSeen,
      values,
    });
    // Postgres answers uuids in lower case, as the envelope parser gives them.
    const fresh = new Set(rows.map((row) => row.event_id));
    return batch.filter((decoded) => fresh.delete(decoded.event.eventId));
  };

  /**
   * Drops the messages the inbox has already applied (a redelivery of a parked key's earlier
   * events): parking them would only make the drain skip them later.
   */
  const withoutApplied = async (tx: PoolClient, messages: readonly ParkedMessage[]): Promise<ParkedMessage[]> => {
    const ids = messages.flatMap((m) => (m.eventId === undefined ? [] : [m.eventId]));
    if (ids.length === 0) return [...messages];
    const { rows } = await tx.query<{ event_id: string }>(
      `SELECT "event_id" FROM "inbox" WHERE "consumer_group" = $1 AND "event_id" = ANY($2::uuid[])`,
      [options.groupId, ids],
    );
    const applied = new Set(rows.map((row) => row.event_id));
    return messages.filter((m) => m.eventId === undefined || !applied.has(m.eventId));
  };

  /**
   * Applies events in the caller's transaction, keeping per-key order: it first locks the
   * `parked_key` rows of the batch's keys (none on the happy path), then parks the events of parked
   * or draining keys behind them, records the others in the inbox and handles the new ones. An
   * event that is the replay of the dead letter that parked its key is handled, and releases the
   * key (the later events of that key in this batch are parked behind the ones waiting already).
   * `stage` says how far it got, so a unique violation of the inbox INSERT is told from others.
   * With `assumeNew` its first statement begins the transaction (the caller must not); without it,
   * it runs in the caller's open transaction.
   */
  const applyEvents = async (
    tx: PoolClient,
    partition: number,
    batch: readonly Decoded<T>[],
    assumeNew: boolean,
    stage: { inbox: boolean },
  ): Promise<Applied> => {
    if (assumeNew) {
      const [, , , eventIds, offsets] = inboxValues(partition, batch);
      stage.inbox = true;
      const parked = await beginAndInsertNewUnlessParked(tx, partition, eventIds, offsets);
      stage.inbox = false;
      if (!parked) {
        await runHandler(batch, tx);
        return { released: [] };
      }
    }
    return applyBehindParked(tx, partition, batch, assumeNew, stage);
  };

  /**
   * The rest of `applyEvents` when some key may be parked, in the caller's open transaction: lock
   * the batch's parked keys, park the events of parked or draining keys behind them, record the
   * others in the inbox (all new, or a unique violation, with `assumeNew`) and handle the new ones.
   */
  const applyBehindParked = async (
    tx: PoolClient,
    partition: number,
    batch: readonly Decoded<T>[],
    assumeNew: boolean,
    stage: { inbox: boolean },
  ): Promise<Applied> => {
    const parked = await lockParkedKeys(tx, scope, batch.map((d) => d.event.key));
    let toHandle: readonly Decoded<T>[] = batch;
    const released: string[] = [];
    if (parked.size > 0) {
      const states = new Map<string, ParkedKeyState>(parked);
      const handled: Decoded<T>[] = [];
      const behind: ParkedMessage[] = [];
      for (const decoded of batch) {
        const state = states.get(decoded.event.key);
        if (state === undefined) {
          handled.push(decoded);
        } else if (!state.released && state.deadLetterEventId === decoded.event.eventId) {
          handled.push(decoded);
          released.push(decoded.event.key);
          states.set(decoded.event.key, { ...state, released: true });
        } else {
          behind.push(toParked(decoded.event.key, decoded.event.eventId, partition, decoded.raw));
        }
      }
      await parkEvents(tx, scope, await withoutApplied(tx, behind));
      toHandle = handled;
    }
    stage.inbox = true;
    const fresh = toHandle.length === 0 ? [] : await recordInInbox(tx, partition, toHandle, assumeNew);
    stage.inbox = false;
    await runHandler(fresh, tx);
    for (const key of released) await releaseKey(tx, scope, key, { kind: "replayed" });
    return { released };
  };

  /**
   * Applies a chunk in one transaction: applied (with the keys it released), "seen" (rolled back
   * because some event was already in the inbox, only possible with `assumeNew`) or "failed"
   * (rolled back, a handler or the database threw).
   */
  const tryTogether = async (
    partition: number,
    batch: readonly Decoded<T>[],
    assumeNew: boolean,
  ): Promise<Applied | "seen" | "failed"> => {
    const tx = await options.pool.connect();
    const stage = { inbox: false };
    try {
      // The happy path's first statement begins the transaction itself (one round trip less).
      if (!assumeNew) await tx.query("BEGIN");
      const applied = await applyEvents(tx, partition, batch, assumeNew, stage);
      await tx.query("COMMIT");
      return applied;
    } catch (error) {
      await tx.query("ROLLBACK").catch(() => undefined);
      if (assumeNew && stage.inbox && (error as { code?: unknown }).code === uniqueViolation) return "seen";
      logger.warn({ err: error, topic: topicName, partition }, "consumer: chunk failed, applying one by one");
      return "failed";
    } finally {
      tx.release();
    }
  };

  /**
   * Applies a chunk in one transaction; undefined (and rolled back) if any handler threw. With
   * `assumeNew` false it skips the attempt that assumes every event is new to the inbox.
   */
  const applyTogether = async (partition: number, batch: readonly Decoded<T>[], assumeNew: boolean): Promise<Applied | undefined> => {
    let outcome = await tryTogether(partition, batch, assumeNew);
    if (outcome === "seen") outcome = await tryTogether(partition, batch, false);
    return typeof outcome === "string" ? undefined : outcome;
  };

  /**
   * The happy path of a whole chunk whose envelopes all read (`readChunkEnvelopes`), in one
   * transaction: BEGIN and the inbox INSERT are sent first, and the protobuf bytes are decoded
   * while Postgres inserts (the chunk's CPU and its first round trip overlap, so the chunk's
   * messages live a shorter time); then the handler, then COMMIT. The events are let go before
   * COMMIT is sent, so they do not live through its round trip (each one a chance for a
   * young-generation GC to copy and promote them). Returns what committed, or why nothing did:
   * "seen" (an event is in the inbox already), "undecodable" (some bytes do not decode; rolled back
   * before any handler ran), or "failed" (a handler or the database threw). The careful path then
   * does the chunk again.
   */
  const tryChunk = async (partition: number, messages: readonly RawMessage[], chunk: ChunkEnvelopes): Promise<Applied | "seen" | "undecodable" | "failed"> => {
    const tx = await options.pool.connect();
    const stage = { inbox: false };
    try {
      stage.inbox = true;
      // pg writes the statement when it is queued on an idle client: it is on its way while we decode.
      const inserted = beginAndInsertNewUnlessParked(tx, partition, chunk.eventIds, chunk.offsets);
      const decoded = decodeChunk(partition, messages, chunk);
      const parked = await inserted;
      stage.inbox = false;
      if (decoded === undefined) {
        await tx.query("ROLLBACK");
        return "undecodable";
      }
      const applied = parked ? await applyBehindParked(tx, partition, decoded, true, stage) : await handleNew(tx, decoded);
      // Only the handler's own references (if it keeps any) hold the events now.
      decoded.length = 0;
      await tx.query("COMMIT");
      return applied;
    } catch (error) {
      await tx.query("ROLLBACK").catch(() => undefined);
      if (stage.inbox && (error as { code?: unknown }).code === uniqueViolation) return "seen";
      logger.warn({ err: error, topic: topicName, partition }, "consumer: chunk failed, applying one by one");
      return "failed";
    } finally {
      tx.release();
    }
  };

  /** Handles events the inbox INSERT recorded as new (no key parked): nothing released. */
  const handleNew = async (tx: PoolClient, decoded: readonly Decoded<T>[]): Promise<Applied> => {
    await runHandler(decoded, tx);
    return { released: [] };
  };

  /**
   * Runs one event's transaction until it commits, with backoff between attempts: returns a
   * rejection when it must be dead-lettered (a `NonRetryableError`, or `maxAttempts` counted
   * failures). A transaction conflict (40001, 40P01) is retried without being counted: it says
   * another transaction won a race, not that the event is bad. An outage is thrown.
   * `subject` names the message of the last attempt (for a drain, the head it found).
   */
  const retryAlone = async <R extends object>(
    subject: () => Subject | undefined,
    heartbeat: () => Promise<void>,
    attemptOnce: () => Promise<R>,
  ): Promise<R | Rejected> => {
    let attempt = 1;
    let conflicts = 0;
    for (;;) {
      let failure: unknown;
      try {
        return await attemptOnce();
      } catch (error) {
        failure = error;
      }
      // The database is down, not the message bad: give the batch back to kafkajs unresolved.
      if (isInfrastructureError(failure)) throw failure;
      const eventId = subject()?.eventId;
      if (isTransactionConflict(failure)) {
        conflicts += 1;
        logger.warn({ err: failure, eventId, conflicts }, "consumer: transaction conflict, retrying");
        await backoff(retryBackoffMs * 2 ** Math.min(conflicts - 1, 10), heartbeat);
        continue;
      }
      const reason = failure instanceof Error ? failure.message : String(failure);
      const why = isNonRetryableError(failure) ? "non_retryable" : attempt >= maxAttempts ? "max_attempts_exceeded" : undefined;
      if (why !== undefined) {
        const failed = subject();
        // Failing before it found its message (a drain's lock query): nothing to dead-letter.
        if (failed === undefined) throw failure;
        return { ...failed, attempts: attempt, reason: `${why}: ${reason}` };
      }
      logger.warn({ err: failure, eventId, attempt }, "consumer: handler failed, retrying");
      await backoff(retryBackoffMs * 2 ** (attempt - 1), heartbeat);
      attempt += 1;
    }
  };

  /** Applies one live message with retries; returns a rejection when it must be dead-lettered. */
  const applyAlone = (partition: number, decoded: Decoded<T>, heartbeat: () => Promise<void>): Promise<Applied | Rejected> =>
    retryAlone(
      () => ({ raw: decoded.raw, partition, key: decoded.event.key, eventId: decoded.event.eventId }),
      heartbeat,
      () => inTransaction((tx) => applyEvents(tx, partition, [decoded], false, { inbox: false })),
    );

  /** Runs `work` in a transaction of its own; rolls back and rethrows if it throws. */
  const inTransaction = async <R>(work: (tx: PoolClient) => Promise<R>): Promise<R> => {
    const tx = await options.pool.connect();
    try {
      await tx.query("BEGIN");
      const result = await work(tx);
      await tx.query("COMMIT");
      return result;
    } catch (error) {
      await tx.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      tx.release();
    }
  };

  /** Waits, heartbeating so a long backoff does not get the member kicked out of the group. */
  const backoff = async (ms: number, heartbeat: () => Promise<void>): Promise<void> => {
    let remaining = Math.min(ms, maxBackoffMs);
    while (remaining > 0) {
      const step = Math.min(remaining, heartbeatIntervalMs);
      await sleep(step);
      remaining -= step;
      await heartbeat();
    }
  };

  const deadLetter = async (rejected: Rejected): Promise<void> => {
    const r = rejected;
    await deadLetters.sendBatch({
      acks: -1,
      topicMessages: [
        {
          topic: options.topic.deadLetterName,
          messages: [
            {
              key: r.raw.key,
              value: r.raw.value,
              headers: {
                ...r.raw.headers,
                [deadLetterHeaderNames.reason]: r.reason,
                [deadLetterHeaderNames.consumerGroup]: options.groupId,
                [deadLetterHeaderNames.attempts]: String(r.attempts),
                [deadLetterHeaderNames.originalTopic]: topicName,
                [deadLetterHeaderNames.originalPartition]: String(r.partition),
                [deadLetterHeaderNames.originalOffset]: r.raw.offset,
                [deadLetterHeaderNames.failedAt]: new Date().toISOString(),
              },
            },
          ],
        },
      ],
    });
    metrics.deadLettered.add(1, baseAttributes);
    logger.error({ topic: topicName, partition: r.partition, offset: r.raw.offset, key: r.key, reason: r.reason }, "consumer: dead-lettered");
  };

  /**
   * Dead-letters a live message and then parks its key (a message without a key parks nothing).
   * The park commits after the dead letter is acknowledged and before the offset is resolved: a
   * crash in between redelivers the message, which fails and is dead-lettered again (a duplicate
   * letter, harmless to replay), so the key is never left flowing past a lost dead letter.
   */
  const deadLetterAndPark = async (rejected: Rejected): Promise<void> => {
    await deadLetter(rejected);
    const key = rejected.key;
    if (key === undefined) return;
    await inTransaction((tx) =>
      parkKey(tx, scope, { key, eventId: rejected.eventId, partition: rejected.partition, offset: rejected.raw.offset, reason: rejected.reason }),
    );
  };

  /**
   * Handles a live message that could not be decoded: behind its key if the key is parked (it will
   * be dead-lettered in its turn when the key drains, so order holds), else to the DLQ at once.
   * The replay of the very dead letter that parks the key, still undecodable, is dead-lettered again.
   */
  const reject = async (rejected: Rejected): Promise<void> => {
    const key = rejected.key;
    if (key !== undefined) {
      const queued = await inTransaction(async (tx) => {
        const state = (await lockParkedKeys(tx, scope, [key])).get(key);
        if (state === undefined || (!state.released && state.deadLetterEventId === rejected.eventId)) return false;
        await parkEvents(tx, scope, [toParked(key, rejected.eventId, rejected.partition, rejected.raw)]);
        return true;
      });
      if (queued) return;
    }
    await deadLetterAndPark(rejected);
  };

  /** Applies a run of decoded events of one partition: together (unless told `alone`), else one by one with retries. */
  const applyRun = async (partition: number, run: readonly Decoded<T>[], heartbeat: () => Promise<void>, firstTry: FirstTry): Promise<void> => {
    if (run.length === 0) return;
    const together = firstTry === "alone" ? undefined : await applyTogether(partition, run, firstTry === "together");
    if (together !== undefined) {
      if (together.released.length > 0) drainer.kick();
      return;
    }
    for (const one of run) {
      const outcome = await applyAlone(partition, one, heartbeat);
      if ("reason" in outcome) await deadLetterAndPark(outcome);
      else if (outcome.released.length > 0) drainer.kick();
    }
  };

  /**
   * Processes a chunk in offset order: on the happy path (`tryChunk`) in one transaction, else
   * carefully (`processChunkCarefully`), which is also what follows when the happy path finds a
   * message it cannot decode, an event the inbox has seen, or a failing handler.
   */
  const processChunk = async (
    partition: number,
    messages: readonly RawMessage[],
    heartbeat: () => Promise<void>,
  ): Promise<void> => {
    const chunk = readChunkEnvelopes(messages);
    let firstTry: FirstTry = "together";
    if (chunk !== undefined && messages.length > 0) {
      const outcome = await tryChunk(partition, messages, chunk);
      if (typeof outcome !== "string") {
        if (outcome.released.length > 0) drainer.kick();
        metrics.consumed.add(messages.length, baseAttributes);
        return;
      }
      // Nothing of the chunk committed. A failed handler is not run together again: one by one,
      // with retries, isolates the event that fails, as after a failed run on the careful path.
      firstTry = outcome === "seen" ? "skipping_seen" : outcome === "failed" ? "alone" : "together";
    }
    await processChunkCarefully(partition, messages, heartbeat, firstTry);
  };

  /**
   * Processes a chunk in offset order, each message decoded before any is applied. Runs of
   * decodable events are applied together (first tried as `firstTry` says); a rejected message in
   * between is dealt with at its place, so the events of its key before it apply and those after
   * it find the key parked.
   */
  const processChunkCarefully = async (
    partition: number,
    messages: readonly RawMessage[],
    heartbeat: () => Promise<void>,
    firstTry: FirstTry,
  ): Promise<void> => {
    let run: Decoded<T>[] = [];
    // An indexed loop: an iterator's result objects are not optimised away in an async function
    // with an await in the loop, and this loop runs once per message.
    for (let i = 0; i < messages.length; i += 1) {
      const raw = messages[i]!;
      const result = decode(partition, raw);
      if ("event" in result) {
        run.push(result);
        continue;
      }
      await applyRun(partition, run, heartbeat, firstTry);
      run = [];
      await reject(result);
    }
    await applyRun(partition, run, heartbeat, firstTry);
    metrics.consumed.add(messages.length, baseAttributes);
  };

  /** Set by `stop()`: no new drain pass or step starts. */
  let stopping = false;

  /** A parked event failed for good: dead-letter it, then park its key again behind it. */
  const reparkBehind = async (rejected: Rejected, head: ParkedEventRow): Promise<void> => {
    await deadLetter(rejected);
    await inTransaction(async (tx) => {
      await lockParkedKeys(tx, scope, [head.key]);
      // Another drainer may have dealt with it meanwhile (its own dead letter is then the one).
      if (!(await deleteParkedEvent(tx, head.id))) return;
      await parkKey(tx, scope, { key: head.key, eventId: head.eventId, partition: head.partition, offset: head.offset, reason: rejected.reason });
    });
  };

  /**
   * Applies a released key's parked events in order, one transaction each: lock the key (skip it
   * if another drainer holds it), apply the oldest parked event through the inbox and delete it;
   * when none is left, delete the key so it flows again. Failures are retried as for a live event;
   * one that fails for good is dead-lettered and parks the key again behind it.
   */
  const drainKey = async (key: string): Promise<void> => {
    const current: { head?: ParkedEventRow | undefined } = {};
    const rawOf = (head: ParkedEventRow): RawMessage => ({
      key: Buffer.from(key, "utf8"),
      value: head.value,
      headers: head.headers,
      offset: head.offset,
    });
    const step = () =>
      inTransaction(async (tx) => {
        current.head = undefined;
        if (!(await lockReleasedKey(tx, scope, key))) return { kind: "done" } as const;
        const head = await nextParkedEvent(tx, scope, key);
        current.head = head;
        if (head === undefined) {
          await deleteParkedKey(tx, scope, key);
          return { kind: "done" } as const;
        }
        const decoded = decode(head.partition, rawOf(head));
        if (!("event" in decoded)) return { kind: "undecodable", rejected: decoded, head } as const;
        await runHandler(await recordInInbox(tx, head.partition, [decoded], false), tx);
        await deleteParkedEvent(tx, head.id);
        return { kind: "applied" } as const;
      });
    const subject = (): Subject | undefined => {
      const head = current.head;
      return head === undefined ? undefined : { raw: rawOf(head), partition: head.partition, key, eventId: head.eventId };
    };
    while (!stopping) {
      const outcome = await retryAlone(subject, async () => undefined, step);
      if ("reason" in outcome) {
        const head = current.head;
        if (head !== undefined) await reparkBehind(outcome, head);
        return;
      }
      if (outcome.kind === "done") return;
      if (outcome.kind === "undecodable") {
        await reparkBehind(outcome.rejected, outcome.head);
        return;
      }
    }
  };

  /**
   * Drains released keys in the background: after a chunk applied a replayed dead letter, and every
   * `parkedPollIntervalMs` (to find keys a `discardDeadLetter` released from another process). One
   * pass at a time; a kick during a pass runs another after it. Per-key order is kept by the
   * `parked_key` row lock, whoever drains (another replica of the group may drain the same key).
   */
  const drainer = (() => {
    let running: Promise<void> | undefined;
    let again = false;
    const pass = async (): Promise<void> => {
      do {
        again = false;
        for (const key of await releasedKeys(options.pool, scope)) {
          if (stopping) return;
          await drainKey(key);
        }
      } while (again && !stopping);
    };
    return {
      kick(): void {
        if (stopping) return;
        if (running !== undefined) {
          again = true;
          return;
        }
        running = pass()
          .catch((error: unknown) => logger.warn({ err: error, topic: topicName }, "consumer: draining parked keys failed, retrying later"))
          .finally(() => {
            running = undefined;
          });
      },
      async settled(): Promise<void> {
        await running;
      },
    };
  })();

  const joined = new Promise<void>((resolve) => {
    const remove = consumer.on(consumer.events.GROUP_JOIN, () => {
      remove();
      resolve();
    });
  });

  /**
   * Offsets go to Kafka only from here, after their chunk's transaction committed: kafkajs runs
   * with autoCommit off, because the offset it resolves (its fetch position) runs ahead of the
   * database work so that the next fetch overlaps it.
   */
  const committer = createOffsetCommitter(
    (offsets) => consumer.commitOffsets(offsets.map(({ partition, offset }) => ({ topic: topicName, partition, offset }))),
    logger,
  );

  /**
   * Per partition, the database work of the last batch handed over (at most one: a batch is handed
   * over only after the one before it finished), and the error it failed with. The chain keeps
   * per-partition (so per-key) order, across rebalances too: a batch refetched after a rejoin
   * queues behind the work still in flight, and the inbox skips what that work applied.
   */
  const inFlight = new Map<number, Promise<void>>();
  const failures = new Map<number, unknown>();
  /**
   * Counts the rebalances kafkajs began. Work handed over before one stops at its next chunk: the
   * partition may be someone else's now, and kafkajs does not wait for work outside eachBatch, so
   * at most the chunk whose transaction is open overlaps the new owner, which reads from the
   * committed offset (before that chunk) and whose inbox INSERT waits for that transaction's rows.
   */
  let generation = 0;
  consumer.on(consumer.events.REBALANCING, () => {
    generation += 1;
  });

  /**
   * Applies one batch, chunk by chunk, and hands each chunk's next offset to the committer once its
   * transaction committed. Stops before a chunk when the consumer is stopping or the batch went
   * stale; what it did not apply is not committed, so it is fetched again (after a rejoin or
   * restart kafkajs reads from the committed offset).
   */
  const applyBatch = async (
    partition: number,
    messages: readonly RawMessage[],
    heartbeat: () => Promise<void>,
    current: () => boolean,
  ): Promise<void> => {
    for (let start = 0; start < messages.length; start += chunkSize) {
      if (stopping || !current()) return;
      const chunk = messages.slice(start, start + chunkSize);
      try {
        await processChunk(partition, chunk, heartbeat);
      } catch (error) {
        // Refetch from this chunk, so that the failure surfaces in an eachBatch even if nothing new arrives.
        failures.set(partition, error);
        if (!stopping) consumer.seek({ topic: topicName, partition, offset: chunk[0]?.offset ?? "0" });
        return;
      }
      const last = chunk[chunk.length - 1];
      if (last !== undefined) committer.done(partition, (BigInt(last.offset) + 1n).toString());
      await heartbeat().catch((error: unknown) => {
        // A rebalance or a lost session: kafkajs rejoins on its own; the committed chunks stay committed.
        logger.debug({ err: error, partition }, "consumer: heartbeat between chunks failed");
      });
    }
  };

  await consumer.run({
    eachBatchAutoResolve: false,
    autoCommit: false,
    ...(options.partitionsConsumedConcurrently === undefined
      ? {}
      : { partitionsConsumedConcurrently: options.partitionsConsumedConcurrently }),
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const partition = batch.partition;
      // Wait for the batch before this one: one batch's work in flight per partition, behind the fetch.
      await inFlight.get(partition);
      const failure = failures.get(partition);
      if (failure !== undefined) {
        // Hand the failure to kafkajs as the synchronous consumer did (an outage: it restarts from
        // the committed offsets, which stop before the failed chunk).
        failures.delete(partition);
        throw failure instanceof Error ? failure : new Error("consumer: the partition pipeline failed", { cause: failure });
      }
      const last = batch.messages[batch.messages.length - 1];
      if (stopping || !isRunning() || isStale() || last === undefined) return;
      const handedOver = generation;
      const current = () => isRunning() && !isStale() && generation === handedOver;
      const work = applyBatch(partition, batch.messages, heartbeat, current).catch((error: unknown) => {
        failures.set(partition, error);
      });
      inFlight.set(partition, work);
      // kafkajs' fetch position moves past the batch now, so its next fetch overlaps this batch's
      // transactions. With autoCommit off, kafkajs never commits a resolved offset; the committer
      // commits each chunk's offset after the chunk's transaction.
      resolveOffset(last.offset);
      await heartbeat();
    },
  });
  await joined;
  const poll = setInterval(() => drainer.kick(), parkedPollIntervalMs);
  poll.unref();
  drainer.kick();

  return {
    async stop() {
      stopping = true;
      clearInterval(poll);
      // The chunk in flight of each partition finishes and its offset is committed before the group is left.
      await Promise.all(inFlight.values());
      await committer.flush();
      await consumer.disconnect();
      await drainer.settled();
      await deadLetters.disconnect();
    },
  };
}

/**
 * A decoded live event. A class, not an object literal: its `headers` is a getter, and V8 builds an
 * object literal with a getter through the runtime (microseconds per event) where a class instance
 * costs tens of nanoseconds. The record of every header is built when a handler first reads it: the
 * consumer itself reads only the envelope's headers, and the record would live as long as the
 * event. Likewise `occurredAt`: the envelope's time is kept as a number (checked when the envelope
 * was read) and its `Date` made on the first read, the same object on every read after. (Being
 * prototype getters, `headers` and `occurredAt` are not own properties: a spread copy leaves them out.)
 */
class LiveEvent<T extends TopicDefinition> implements ConsumedEvent<T> {
  readonly #rawHeaders: IHeaders | undefined;
  readonly #occurredAtMs: number;
  #headers: Readonly<Record<string, string>> | undefined;
  #occurredAt: Date | undefined;

  constructor(
    readonly eventId: string,
    readonly eventType: string,
    readonly key: string,
    readonly topic: string,
    readonly partition: number,
    readonly offset: string,
    occurredAtMs: number,
    readonly producer: string,
    rawHeaders: IHeaders | undefined,
    readonly message: TopicMessage<T>,
  ) {
    this.#occurredAtMs = occurredAtMs;
    this.#rawHeaders = rawHeaders;
  }

  get occurredAt(): Date {
    this.#occurredAt ??= new Date(this.#occurredAtMs);
    return this.#occurredAt;
  }

  get headers(): Readonly<Record<string, string>> {
    this.#headers ??= kafkaHeadersToRecord(this.#rawHeaders);
    return this.#headers;
  }

  /** What `JSON.stringify` (e.g. a logger) shows: every field, `headers` included. */
  toJSON(): Record<string, unknown> {
    const { eventId, eventType, key, topic, partition, offset, occurredAt, producer, headers, message } = this;
    return { eventId, eventType, key, topic, partition, offset, occurredAt, producer, headers, message };
  }
}

/** The first envelope header that must not be empty but is (blank counts as empty), if any. */
function blankHeader(eventType: string, schemaVersion: string, producer: string): string | undefined {
  if (eventType.trim() === "") return envelopeHeaderNames.eventType;
  if (schemaVersion.trim() === "") return envelopeHeaderNames.schemaVersion;
  if (producer.trim() === "") return envelopeHeaderNames.producer;
  return undefined;
}

/** A message that will not be handled, with the event id of its envelope if that id is valid. */
function rejection(raw: RawMessage, partition: number, key: string | undefined, reason: string): Rejected {
  const headerId = kafkaHeadersToRecord(raw.headers)[envelopeHeaderNames.eventId] ?? "";
  return { raw, partition, key, eventId: uuidPattern.test(headerId) ? headerId.toLowerCase() : undefined, attempts: 1, reason };
}

/** A message as it is stored behind its parked key: its bytes and its string headers. */
function toParked(key: string, eventId: string | undefined, partition: number, raw: RawMessage): ParkedMessage {
  return { key, eventId, partition, offset: raw.offset, value: raw.value, headers: kafkaHeadersToRecord(raw.headers) };
}
