import { context, metrics as otelMetrics, propagation, SpanKind, SpanStatusCode, trace, type Link, type Meter } from "@opentelemetry/api";
import { createLogger, messagingMetrics, type Logger, type MessagingMetrics } from "@tributary/telemetry";
import type { Admin, Kafka, Message, Producer, TopicMessages } from "kafkajs";
import type { Pool, PoolClient } from "pg";
import { createIdempotentProducer } from "./idempotent-producer.js";
import { messagingAttributes } from "./messaging-attributes.js";
import { defaultInboxRetentionMs, defaultPublishedRetentionMs, pruneOutboxAndInbox } from "./outbox-retention.js";
import { classifyPublishFailure, unknownTopicRefusal, type PublishRefusal } from "./publish-refusal.js";
import { sleep } from "./sleep.js";

/** How a service runs its outbox relay. */
export interface OutboxRelayOptions {
  /** The service's database (the one holding its `outbox` table). */
  readonly pool: Pool;
  readonly kafka: Kafka;
  /** The service name, for logs and metrics. */
  readonly producerName: string;
  /** Rows per Kafka `sendBatch`; 500 unless told. */
  readonly batchSize?: number;
  /** Fallback poll when no NOTIFY arrives (and the leader-lock retry); 1000 ms unless told. */
  readonly pollIntervalMs?: number;
  /** Wait after a failed batch before trying again; 1000 ms unless told. */
  readonly retryDelayMs?: number;
  /**
   * The advisory-lock key that elects one relay per database, so two replicas never interleave
   * one key's events. Any bigint; the default suits one outbox per database.
   */
  readonly leaderLockKey?: bigint;
  readonly logger?: Logger;
  readonly metrics?: MessagingMetrics;
  /** Where the `tributary.outbox.quarantined` counter lives; the global meter unless told. */
  readonly meter?: Meter;
  /**
   * Published rows older than this are deleted by the leader; 7 days unless told. Unpublished
   * rows (waiting, held or quarantined) are never deleted.
   */
  readonly publishedRetentionMs?: number;
  /**
   * Inbox ids older than this are deleted by the leader; 14 days unless told. It must exceed the
   * longest window in which a copy of an event can still be delivered (the topics' retention, a
   * DLQ replay): an id pruned earlier lets that late copy be applied a second time.
   */
  readonly inboxRetentionMs?: number;
  /** How often the leader prunes; 10 minutes unless told. */
  readonly pruneIntervalMs?: number;
  /**
   * Test seam: runs after the batch was read from the committed outbox and before it is sent,
   * so a test can kill the process between the database commit and the Kafka ack.
   */
  readonly beforeSend?: (eventIds: readonly string[]) => Promise<void>;
  /**
   * Test seam: runs after Kafka acknowledged a batch and before the rows are marked published,
   * so a test can kill the process in exactly that window.
   */
  readonly afterSend?: (eventIds: readonly string[]) => Promise<void>;
}

/** A running relay. */
export interface OutboxRelay {
  /** Finishes the batch in flight, releases the leader lock and disconnects. */
  stop(): Promise<void>;
}

interface OutboxRow {
  readonly id: string;
  readonly event_id: string;
  readonly topic: string;
  readonly message_key: string;
  readonly payload: Buffer;
  readonly headers: Record<string, string>;
}

// The lowest unpublished ids, minus the rows still in flight (sent or being sent, not yet marked),
// minus the rows held behind a quarantined row of their key. No id cursor: a row that committed
// late with an id below rows already sent is still the first candidate of the next read, so a
// later row of its key (which, thanks to appendToOutbox's key lock, has a higher id) can never
// overtake it.
const selectUnpublished = `
SELECT o."id", o."event_id", o."topic", o."message_key", o."payload", o."headers"
FROM "outbox" o
WHERE o."published_at" IS NULL AND o."quarantined_at" IS NULL AND o."id" <> ALL($2::bigint[])
  AND NOT EXISTS (
    SELECT 1 FROM "outbox" q
    WHERE q."quarantined_at" IS NOT NULL AND q."published_at" IS NULL
      AND q."topic" = o."topic" AND q."message_key" = o."message_key" AND q."id" < o."id")
ORDER BY o."id" LIMIT $1`;
const markPublished = `UPDATE "outbox" SET "published_at" = now() WHERE "id" = ANY($1::bigint[])`;
const markQuarantined = `
UPDATE "outbox" SET "quarantined_at" = now(), "quarantine_reason" = $2
WHERE "id" = $1::bigint AND "published_at" IS NULL`;
const countUnpublished = `SELECT count(*)::int AS "backlog" FROM "outbox" WHERE "published_at" IS NULL AND "quarantined_at" IS NULL`;
// Whether this session still holds the leader lock. A one-bigint advisory lock shows in pg_locks
// as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
const holdsLeaderLock = `
SELECT EXISTS (
  SELECT 1 FROM pg_locks
  WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
    AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1) AS "leading"`;

/** Thrown when the re-check finds the leader lock gone: this relay must stop publishing. */
class LeadershipLostError extends Error {
  constructor() {
    super("outbox relay: the leader lock is no longer held by this relay's session");
    this.name = "LeadershipLostError";
  }
}

/** 'outbox' in ASCII: the default advisory-lock key of the relay's leader election. */
const defaultLeaderLockKey = 0x6f7574626f78n;

/** One row's identity for per-key order: Kafka orders per partition, i.e. per topic and key. */
const keyOf = (row: OutboxRow): string => `${row.topic}\u0000${row.message_key}`;

/**
 * Starts the outbox relay: it publishes unpublished outbox rows to Kafka in `id` order, in
 * batches, through the idempotent producer with acks=all, and marks them published after the
 * acknowledgement. One relay per database holds a session advisory lock on a dedicated connection,
 * re-checked before every send, so per-key order holds across replicas and restarts and a relay
 * that lost the lock stops publishing. It wakes on `LISTEN outbox` and polls as a fallback. A crash
 * between the ack and the mark republishes those rows on restart: at-least-once, which the
 * consumers' inbox turns into exactly-once effects.
 *
 * A row the broker refuses for good (see {@link classifyPublishFailure}; or its topic does not
 * exist) is quarantined with the reason and counted, and later rows of its key are held behind
 * it; every other row keeps flowing. A broker that is down is retried, never quarantined. The
 * leader also prunes published rows and old inbox ids past their retention.
 */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const lockKey = options.leaderLockKey ?? defaultLeaderLockKey;
  const lockKeyUnsigned = BigInt.asUintN(64, lockKey);
  const lockClassId = (lockKeyUnsigned >> 32n).toString();
  const lockObjId = (lockKeyUnsigned & 0xffffffffn).toString();
  const retention = {
    publishedRetentionMs: options.publishedRetentionMs ?? defaultPublishedRetentionMs,
    inboxRetentionMs: options.inboxRetentionMs ?? defaultInboxRetentionMs,
  };
  const pruneIntervalMs = options.pruneIntervalMs ?? 10 * 60 * 1000;
  const logger = options.logger ?? createLogger({ serviceName: options.producerName });
  const metrics = options.metrics ?? messagingMetrics();
  const quarantinedCounter = (options.meter ?? otelMetrics.getMeter("@tributary/events")).createCounter(
    "tributary.outbox.quarantined",
    { description: "Outbox rows the broker refused for good, set aside with their reason.", unit: "{message}" },
  );
  const tracer = trace.getTracer("@tributary/events");

  let producer: Producer = createIdempotentProducer(options.kafka);
  await producer.connect();
  // After a failed send kafkajs's idempotent sequence numbers may disagree with the broker's (it
  // rolls back the sequences of a whole request, some partitions of which were written). A fresh
  // producer (new producer id) starts clean; what the failed request did write is republished,
  // which the consumers' inbox absorbs.
  let producerSuspect = false;
  const freshProducer = async (): Promise<void> => {
    if (!producerSuspect) return;
    await producer.disconnect().catch(() => undefined);
    producer = createIdempotentProducer(options.kafka);
    await producer.connect();
    producerSuspect = false;
  };

  // Topics the broker is known to have. The producer may not create topics and kafkajs retries an
  // unknown one forever, so the relay asks the broker's topic list before sending to a new topic.
  const knownTopics = new Set<string>();
  let admin: Admin | undefined;
  const unknownTopicsOf = async (rows: readonly OutboxRow[]): Promise<ReadonlySet<string>> => {
    const wanted = new Set(rows.map((row) => row.topic).filter((topic) => !knownTopics.has(topic)));
    if (wanted.size === 0) return wanted;
    if (admin === undefined) {
      const created = options.kafka.admin();
      await created.connect();
      admin = created;
    }
    for (const topic of await admin.listTopics()) knownTopics.add(topic);
    return new Set([...wanted].filter((topic) => !knownTopics.has(topic)));
  };

  let stopping = false;
  let wakeRequested = false;
  let wake: (() => void) | undefined;
  let backlog = 0;
  let backlogCountedAt = 0;
  let prunedAt = 0;
  const stopBacklogGauge = metrics.observeOutboxBacklog(() => backlog, {
    "service.name": options.producerName,
  });

  const requestWake = (): void => {
    wakeRequested = true;
    wake?.();
  };
  /** Sleeps until a NOTIFY, `stop()` or the poll interval, whichever comes first. */
  const idle = async (ms: number): Promise<void> => {
    if (wakeRequested || stopping) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wake = undefined;
  };

  // The session: one connection that holds the leader lock, LISTENs, and writes the marks. It is
  // taken from the pool but never given back: closing it destroys the connection, so neither the
  // lock, the LISTEN nor its `synchronous_commit = off` can reach a business transaction.
  let session: PoolClient | undefined;
  let leader = false;
  const openSession = async (): Promise<PoolClient> => {
    const client = await options.pool.connect();
    try {
      client.on("notification", requestWake);
      client.on("error", (error) => {
        logger.warn({ err: error }, "outbox relay: listener connection failed");
      });
      await client.query("LISTEN outbox");
      // Marks go through this session without waiting for the WAL flush: a mark lost in a
      // Postgres crash only republishes those rows, which the consumers' inbox absorbs. The
      // outbox rows themselves are written by the services' own (synchronous) transactions.
      await client.query("SET synchronous_commit = off");
      return client;
    } catch (error) {
      client.removeListener("notification", requestWake);
      client.release(true);
      throw error;
    }
  };
  const closeSession = (): void => {
    session?.removeListener("notification", requestWake);
    // `true` destroys the connection instead of returning it to the pool (see above).
    session?.release(true);
    session = undefined;
    leader = false;
  };
  const leaderSession = (): PoolClient => {
    if (session === undefined || !leader) throw new LeadershipLostError();
    return session;
  };

  /** Re-checks, on the session itself, that this relay still holds the leader lock. */
  const assertLeading = async (): Promise<void> => {
    const { rows } = await leaderSession().query<{ leading: boolean }>(holdsLeaderLock, [lockClassId, lockObjId]);
    if (rows[0]?.leading !== true) throw new LeadershipLostError();
  };

  /** Sends rows (in `id` order) in one batch and waits for Kafka's acknowledgement. */
  const sendBatch = async (rows: readonly OutboxRow[]): Promise<void> => {
    const byTopic = new Map<string, Message[]>();
    const links: Link[] = [];
    for (const row of rows) {
      const messages = byTopic.get(row.topic) ?? [];
      messages.push({ key: row.message_key, value: row.payload, headers: row.headers });
      byTopic.set(row.topic, messages);
      const created = trace.getSpanContext(propagation.extract(context.active(), row.headers));
      if (created !== undefined) links.push({ context: created });
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    const topicNames = [...byTopic.keys()];
    await freshProducer();
    await tracer.startActiveSpan(
      `send ${topicNames.length === 1 ? topicNames[0] : "outbox"}`,
      {
        kind: SpanKind.CLIENT,
        links,
        attributes: {
          [messagingAttributes.system]: "kafka",
          [messagingAttributes.operationType]: "send",
          [messagingAttributes.operationName]: "send",
          [messagingAttributes.batchMessageCount]: rows.length,
          ...(topicNames.length === 1 ? { [messagingAttributes.destinationName]: topicNames[0] } : {}),
        },
      },
      async (span) => {
        try {
          await producer.sendBatch({ topicMessages, acks: -1 });
        } catch (error) {
          producerSuspect = true;
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
          throw error;
        } finally {
          span.end();
        }
      },
    );
    for (const [topic, messages] of byTopic) {
      metrics.published.add(messages.length, { [messagingAttributes.destinationName]: topic });
    }
  };

  /** Sets a refused row aside with its reason; later rows of its key wait behind it. */
  const quarantine = async (row: OutboxRow, refusal: PublishRefusal, held: Set<string>): Promise<void> => {
    held.add(keyOf(row));
    await leaderSession().query(markQuarantined, [row.id, refusal.reason]);
    quarantinedCounter.add(1, { [messagingAttributes.destinationName]: row.topic, "tributary.refusal.code": refusal.code });
    logger.error(
      { eventId: row.event_id, topic: row.topic, key: row.message_key, reason: refusal.reason },
      "outbox relay: row refused by the broker for good, quarantined; later rows of its key are held",
    );
  };

  /**
   * After a batch was refused for good: sends its rows one at a time, in `id` order, so the bad
   * row is found and quarantined and every other row goes out. A row whose key already has a
   * quarantined row is held (skipped, left unpublished). A transient failure here is thrown, and
   * the whole batch retried later.
   */
  const isolate = async (rows: readonly OutboxRow[], held: Set<string>): Promise<OutboxRow[]> => {
    const sent: OutboxRow[] = [];
    for (const row of rows) {
      if (held.has(keyOf(row))) continue;
      try {
        await sendBatch([row]);
        sent.push(row);
      } catch (error) {
        const refusal = classifyPublishFailure(error);
        if (refusal === undefined) throw error;
        await quarantine(row, refusal, held);
      }
    }
    return sent;
  };

  /**
   * Publishes one batch (already read, in `id` order): quarantines rows of unknown topics,
   * re-checks leadership, sends the rest, and on a refusal for good isolates the bad row. Returns
   * the rows Kafka acknowledged, to be marked. `held` is the drain's set of keys with a quarantined
   * row: their later rows are skipped, also in batches read before the quarantine was written.
   */
  const publish = async (rows: readonly OutboxRow[], held: Set<string>): Promise<OutboxRow[]> => {
    await options.beforeSend?.(rows.map((row) => row.event_id));
    // Fencing: a relay whose lock session died (or whose lock is gone) must not send. Checked after
    // the test seam, as close to the send as a round trip allows.
    await assertLeading();
    const unknown = await unknownTopicsOf(rows);
    const sendable: OutboxRow[] = [];
    for (const row of rows) {
      if (held.has(keyOf(row))) continue;
      if (unknown.has(row.topic)) await quarantine(row, unknownTopicRefusal(row.topic), held);
      else sendable.push(row);
    }
    let sent = sendable;
    if (sendable.length > 0) {
      try {
        await sendBatch(sendable);
      } catch (error) {
        if (classifyPublishFailure(error) === undefined) throw error;
        logger.warn({ err: error, rows: sendable.length }, "outbox relay: batch refused, resending its rows one by one");
        sent = await isolate(sendable, held);
      }
    }
    await options.afterSend?.(sent.map((row) => row.event_id));
    return sent;
  };

  const select = async (inFlight: readonly OutboxRow[]): Promise<OutboxRow[]> => {
    const { rows } = await options.pool.query<OutboxRow>(selectUnpublished, [batchSize, inFlight.map((row) => row.id)]);
    return rows;
  };

  const mark = async (rows: readonly OutboxRow[]): Promise<void> => {
    if (rows.length === 0) return;
    // Through the session: a mark that succeeds was written by the lock holder.
    await leaderSession().query(markPublished, [rows.map((row) => row.id)]);
  };

  /**
   * Publishes until a read comes back short. Batches go to Kafka strictly one after another
   * (batch N+1 is sent only after N was acknowledged), but marking batch N and reading batch
   * N+2 overlap with sending N+1. The read-ahead excludes the rows in flight by id instead of
   * reading above an id cursor, so a row that committed late below rows already sent is read
   * next rather than skipped (see `selectUnpublished`). Returns how many rows it published.
   */
  const drain = async (): Promise<number> => {
    let published = 0;
    const held = new Set<string>();
    let rows = await select([]);
    let full = rows.length === batchSize;
    let acked: readonly OutboxRow[] = [];
    try {
      while (rows.length > 0) {
        const readAhead = full && !stopping ? select([...acked, ...rows]) : Promise.resolve([]);
        // Send batch N while marking batch N-1 and reading batch N+1: three round trips overlap.
        const [sent, , next] = await Promise.all([publish(rows, held), mark(acked), readAhead]);
        published += sent.length;
        acked = sent;
        full = next.length === batchSize;
        // Read before this batch's quarantines were written: drop the rows they hold back.
        rows = next.filter((row) => !held.has(keyOf(row)));
      }
    } finally {
      await mark(acked);
    }
    return published;
  };

  const refreshBacklog = async (published: number): Promise<void> => {
    if (published < batchSize) {
      backlog = 0;
      return;
    }
    const now = Date.now();
    if (now - backlogCountedAt < 1_000) return;
    backlogCountedAt = now;
    const { rows } = await options.pool.query<{ backlog: number }>(countUnpublished);
    backlog = rows[0]?.backlog ?? 0;
  };

  /** Prunes past retention when due; a failure is logged and tried again next interval. */
  const pruneIfDue = async (): Promise<void> => {
    const now = Date.now();
    if (now - prunedAt < pruneIntervalMs) return;
    prunedAt = now;
    try {
      const deleted = await pruneOutboxAndInbox(options.pool, retention);
      if (deleted.outbox + deleted.inbox > 0) logger.info(deleted, "outbox relay: pruned rows past retention");
    } catch (error) {
      logger.warn({ err: error }, "outbox relay: pruning failed, will try again");
    }
  };

  const loop = async (): Promise<void> => {
    while (!stopping) {
      try {
        session ??= await openSession();
        if (!leader) {
          const { rows } = await session.query<{ locked: boolean }>(
            "SELECT pg_try_advisory_lock($1::bigint) AS locked",
            [lockKey.toString()],
          );
          leader = rows[0]?.locked === true;
          if (!leader) {
            await idle(pollIntervalMs);
            continue;
          }
          logger.info({ producer: options.producerName }, "outbox relay: leading");
        }
        wakeRequested = false;
        const published = await drain();
        await refreshBacklog(published);
        await pruneIfDue();
        await idle(pollIntervalMs);
      } catch (error) {
        if (error instanceof LeadershipLostError) {
          logger.warn({ producer: options.producerName }, "outbox relay: lost the leader lock, stopped publishing");
          closeSession();
        } else {
          logger.error({ err: error }, "outbox relay: batch failed, will retry");
          if (session !== undefined) {
            // Checks the session is alive; a broken one is dropped (and with it the leader lock).
            const alive = await session.query("SELECT 1").then(
              () => true,
              () => false,
            );
            if (!alive) closeSession();
          }
        }
        await sleep(retryDelayMs);
      }
    }
  };
  const running = loop();

  return {
    async stop() {
      stopping = true;
      wake?.();
      await running;
      stopBacklogGauge();
      // Unlocked first so a successor can lead at once; destroying the connection would also
      // release the lock and the LISTEN, but only once the server notices.
      if (session !== undefined && leader) await session.query("SELECT pg_advisory_unlock($1::bigint)", [lockKey.toString()]).catch(() => undefined);
      closeSession();
      await admin?.disconnect().catch(() => undefined);
      await producer.disconnect();
    },
  };
}
