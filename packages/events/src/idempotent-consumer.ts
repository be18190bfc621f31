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
import { findTopicMessage, type TopicDefinition, type TopicMessage } from "@tributary/contracts";
import { createLogger, messagingMetrics, type Logger, type MessagingMetrics } from "@tributary/telemetry";
import type { Kafka, KafkaMessage, Producer } from "kafkajs";
import type { Pool, PoolClient } from "pg";
import { deadLetterHeaderNames } from "./dead-letter-headers.js";
import { kafkaHeadersToRecord, parseEnvelope } from "./envelope-headers.js";
import { createIdempotentProducer } from "./idempotent-producer.js";
import { messagingAttributes } from "./messaging-attributes.js";
import { isInfrastructureError } from "@tributary/infrastructure-error";
import { isNonRetryableError } from "./non-retryable-error.js";
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
  /** Attempts per message before it is dead-lettered; 5 unless told. */
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
  readonly logger?: Logger;
  readonly metrics?: MessagingMetrics;
}

/** A running consumer. */
export interface IdempotentConsumer {
  /** Leaves the group after the chunk in flight; its resolved offsets are committed. */
  stop(): Promise<void>;
}

/** A message decoded against the topic registry, ready for its handler. */
interface Decoded<T extends TopicDefinition> {
  readonly raw: KafkaMessage;
  readonly event: ConsumedEvent<T>;
}

/** A message that will not be handled, and why; it goes to the dead-letter topic. */
interface Rejected {
  readonly raw: KafkaMessage;
  readonly reason: string;
  readonly attempts: number;
}

// The happy path: a chunk of events the inbox has never seen. A plain INSERT costs Postgres about
// half of an ON CONFLICT one (no speculative insertion) and sends no rows back; if any event is
// already there (a redelivery), the primary key refuses the whole statement and the chunk is
// redone with the statement below, so exactly-once rests on the key either way.
const insertNewInboxRows = `
INSERT INTO "inbox" ("consumer_group", "event_id", "topic", "partition", "offset")
SELECT $1, e, $2, $3, o FROM unnest($4::uuid[], $5::bigint[]) AS u(e, o)`;

const insertInboxRowsSkippingSeen = `
INSERT INTO "inbox" ("consumer_group", "event_id", "topic", "partition", "offset")
SELECT $1, e, $2, $3, o FROM unnest($4::uuid[], $5::bigint[]) AS u(e, o)
ON CONFLICT DO NOTHING
RETURNING "event_id"`;

/** Postgres' SQLSTATE for a unique violation. */
const uniqueViolation = "23505";

const maxBackoffMs = 5_000;

/**
 * Starts an idempotent consumer of one topic. Each message is decoded by its `event-type`
 * header against the topic registry and applied by `handle` in a database transaction that also
 * inserts `(groupId, eventId)` into the inbox; a message whose event id is already there is
 * skipped, so redeliveries and replays have one effect. It consumes with `eachBatch`, heartbeats
 * between chunks and while backing off, and resolves offsets only after the transaction
 * committed or the dead letter was acknowledged. An undecodable message, a `NonRetryableError`,
 * or a message still failing after `maxAttempts` goes to `<topic>.dlq` with its original key,
 * bytes and headers plus the reason, group and attempt count, and the partition moves on.
 * Resolves once the consumer has joined its group.
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
  const logger = options.logger ?? createLogger({ serviceName: options.groupId });
  const metrics = options.metrics ?? messagingMetrics();
  const tracer = trace.getTracer("@tributary/events");
  const topicName = options.topic.name;
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

  const decode = (partition: number, raw: KafkaMessage): Decoded<T> | Rejected => {
    const headers = kafkaHeadersToRecord(raw.headers);
    const envelope = parseEnvelope(headers);
    if (!envelope.ok) {
      const e = envelope.error;
      return { raw, attempts: 1, reason: `${e.code}: ${e.header}${"value" in e ? ` = ${e.value}` : ""}` };
    }
    const schema: DescMessage | undefined = findTopicMessage(options.topic, envelope.value.eventType);
    if (schema === undefined) {
      return { raw, attempts: 1, reason: `unknown_event_type: ${envelope.value.eventType} is not carried by ${topicName}` };
    }
    let message: TopicMessage<T>;
    try {
      message = fromBinary(schema, raw.value ?? new Uint8Array()) as TopicMessage<T>;
    } catch (error) {
      return { raw, attempts: 1, reason: `undecodable: ${error instanceof Error ? error.message : String(error)}` };
    }
    return {
      raw,
      event: {
        eventId: envelope.value.eventId,
        eventType: envelope.value.eventType,
        key: raw.key?.toString("utf8") ?? "",
        topic: topicName,
        partition,
        offset: raw.offset,
        occurredAt: envelope.value.occurredAt,
        producer: envelope.value.producer,
        headers,
        message,
      },
    };
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
        await inProcessSpan([decoded], propagation.extract(context.active(), decoded.event.headers), () =>
          options.handle(decoded.event, tx),
        );
      }
      return;
    }
    const only = batch.length === 1 ? batch[0] : undefined;
    const parent = only === undefined ? context.active() : propagation.extract(context.active(), only.event.headers);
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
      for (const decoded of batch) {
        const producerSpan = trace.getSpanContext(propagation.extract(context.active(), decoded.event.headers));
        if (producerSpan !== undefined) links.push({ context: producerSpan });
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
    // Array literals built here: event ids are validated UUIDs and offsets decimal strings, so
    // neither needs the quoting and escaping pg would spend on every element.
    const values = [
      options.groupId,
      topicName,
      partition,
      `{${batch.map((d) => d.event.eventId).join(",")}}`,
      `{${batch.map((d) => d.event.offset).join(",")}}`,
    ];
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
   * Applies a chunk in one transaction: "applied", "seen" (rolled back because some event was
   * already in the inbox, only possible with `assumeNew`) or "failed" (rolled back, a handler or
   * the database threw).
   */
  const tryTogether = async (
    partition: number,
    batch: readonly Decoded<T>[],
    assumeNew: boolean,
  ): Promise<"applied" | "seen" | "failed"> => {
    const tx = await options.pool.connect();
    let recorded = false;
    try {
      await tx.query("BEGIN");
      const fresh = await recordInInbox(tx, partition, batch, assumeNew);
      recorded = true;
      await runHandler(fresh, tx);
      await tx.query("COMMIT");
      return "applied";
    } catch (error) {
      await tx.query("ROLLBACK").catch(() => undefined);
      if (assumeNew && !recorded && (error as { code?: unknown }).code === uniqueViolation) return "seen";
      logger.warn({ err: error, topic: topicName, partition }, "consumer: chunk failed, applying one by one");
      return "failed";
    } finally {
      tx.release();
    }
  };

  /** Applies a chunk in one transaction; false (and rolled back) if any handler threw. */
  const applyTogether = async (partition: number, batch: readonly Decoded<T>[]): Promise<boolean> => {
    const outcome = await tryTogether(partition, batch, true);
    if (outcome === "seen") return (await tryTogether(partition, batch, false)) === "applied";
    return outcome === "applied";
  };

  /** Applies one message with retries; returns a rejection when it must be dead-lettered. */
  const applyAlone = async (
    partition: number,
    decoded: Decoded<T>,
    heartbeat: () => Promise<void>,
  ): Promise<Rejected | undefined> => {
    for (let attempt = 1; ; attempt += 1) {
      const tx = await options.pool.connect();
      let failure: unknown;
      try {
        await tx.query("BEGIN");
        await runHandler(await recordInInbox(tx, partition, [decoded], false), tx);
        await tx.query("COMMIT");
        return undefined;
      } catch (error) {
        failure = error;
        await tx.query("ROLLBACK").catch(() => undefined);
      } finally {
        tx.release();
      }
      // The database is down, not the message bad: give the batch back to kafkajs unresolved.
      if (isInfrastructureError(failure)) throw failure;
      const reason = failure instanceof Error ? failure.message : String(failure);
      if (isNonRetryableError(failure)) return { raw: decoded.raw, attempts: attempt, reason: `non_retryable: ${reason}` };
      if (attempt >= maxAttempts) return { raw: decoded.raw, attempts: attempt, reason: `max_attempts_exceeded: ${reason}` };
      logger.warn({ err: failure, eventId: decoded.event.eventId, attempt }, "consumer: handler failed, retrying");
      await backoff(retryBackoffMs * 2 ** (attempt - 1), heartbeat);
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

  const deadLetter = async (partition: number, rejected: readonly Rejected[]): Promise<void> => {
    if (rejected.length === 0) return;
    const failedAt = new Date().toISOString();
    await deadLetters.sendBatch({
      acks: -1,
      topicMessages: [
        {
          topic: options.topic.deadLetterName,
          messages: rejected.map((r) => ({
            key: r.raw.key,
            value: r.raw.value,
            headers: {
              ...r.raw.headers,
              [deadLetterHeaderNames.reason]: r.reason,
              [deadLetterHeaderNames.consumerGroup]: options.groupId,
              [deadLetterHeaderNames.attempts]: String(r.attempts),
              [deadLetterHeaderNames.originalTopic]: topicName,
              [deadLetterHeaderNames.originalPartition]: String(partition),
              [deadLetterHeaderNames.originalOffset]: r.raw.offset,
              [deadLetterHeaderNames.failedAt]: failedAt,
            },
          })),
        },
      ],
    });
    metrics.deadLettered.add(rejected.length, baseAttributes);
    for (const r of rejected) {
      logger.error({ topic: topicName, partition, offset: r.raw.offset, reason: r.reason }, "consumer: dead-lettered");
    }
  };

  const processChunk = async (
    partition: number,
    messages: readonly KafkaMessage[],
    heartbeat: () => Promise<void>,
  ): Promise<void> => {
    const decoded: Decoded<T>[] = [];
    const rejected: Rejected[] = [];
    for (const raw of messages) {
      const result = decode(partition, raw);
      if ("event" in result) decoded.push(result);
      else rejected.push(result);
    }
    await deadLetter(partition, rejected);
    if (decoded.length > 0 && !(await applyTogether(partition, decoded))) {
      for (const one of decoded) {
        const failed = await applyAlone(partition, one, heartbeat);
        if (failed !== undefined) await deadLetter(partition, [failed]);
      }
    }
    metrics.consumed.add(messages.length, baseAttributes);
  };

  const joined = new Promise<void>((resolve) => {
    const remove = consumer.on(consumer.events.GROUP_JOIN, () => {
      remove();
      resolve();
    });
  });

  await consumer.run({
    eachBatchAutoResolve: false,
    autoCommit: true,
    ...(options.partitionsConsumedConcurrently === undefined
      ? {}
      : { partitionsConsumedConcurrently: options.partitionsConsumedConcurrently }),
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      for (let start = 0; start < batch.messages.length; start += chunkSize) {
        if (!isRunning() || isStale()) return;
        const chunk = batch.messages.slice(start, start + chunkSize);
        await processChunk(batch.partition, chunk, heartbeat);
        const last = chunk[chunk.length - 1];
        if (last !== undefined) resolveOffset(last.offset);
        await heartbeat();
      }
    },
  });
  await joined;

  return {
    async stop() {
      await consumer.disconnect();
      await deadLetters.disconnect();
    },
  };
}
