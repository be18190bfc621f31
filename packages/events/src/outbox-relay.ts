import { context, propagation, SpanKind, SpanStatusCode, trace, type Link } from "@opentelemetry/api";
import { createLogger, messagingMetrics, type Logger, type MessagingMetrics } from "@tributary/telemetry";
import type { Kafka, Message, TopicMessages } from "kafkajs";
import type { Pool, PoolClient } from "pg";
import { createIdempotentProducer } from "./idempotent-producer.js";
import { messagingAttributes } from "./messaging-attributes.js";
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

const selectUnpublished = `
SELECT "id", "event_id", "topic", "message_key", "payload", "headers"
FROM "outbox" WHERE "published_at" IS NULL ORDER BY "id" LIMIT $1`;
const selectUnpublishedAfter = `
SELECT "id", "event_id", "topic", "message_key", "payload", "headers"
FROM "outbox" WHERE "published_at" IS NULL AND "id" > $1::bigint ORDER BY "id" LIMIT $2`;
const markPublished = `UPDATE "outbox" SET "published_at" = now() WHERE "id" = ANY($1::bigint[])`;
const countUnpublished = `SELECT count(*)::int AS "backlog" FROM "outbox" WHERE "published_at" IS NULL`;

/** 'outbox' in ASCII: the default advisory-lock key of the relay's leader election. */
const defaultLeaderLockKey = 0x6f7574626f78n;

/**
 * Starts the outbox relay: it publishes unpublished outbox rows to Kafka in `id` order, in
 * batches, through the idempotent producer with acks=all, and marks them published after the
 * acknowledgement. One relay per database holds a session advisory lock, so per-key order holds
 * across replicas and restarts. It wakes on `LISTEN outbox` and polls as a fallback. A crash
 * between the ack and the mark republishes those rows on restart: at-least-once, which the
 * consumers' inbox turns into exactly-once effects.
 */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const lockKey = (options.leaderLockKey ?? defaultLeaderLockKey).toString();
  const logger = options.logger ?? createLogger({ serviceName: options.producerName });
  const metrics = options.metrics ?? messagingMetrics();
  const tracer = trace.getTracer("@tributary/events");

  const producer = createIdempotentProducer(options.kafka);
  await producer.connect();

  let stopping = false;
  let wakeRequested = false;
  let wake: (() => void) | undefined;
  let backlog = 0;
  let backlogCountedAt = 0;
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

  let session: PoolClient | undefined;
  let leader = false;
  const openSession = async (): Promise<PoolClient> => {
    const client = await options.pool.connect();
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
  };
  const closeSession = (error?: Error): void => {
    session?.removeListener("notification", requestWake);
    session?.release(error ?? false);
    session = undefined;
    leader = false;
  };

  /** Sends one batch (already read, in `id` order) and waits for Kafka's acknowledgement. */
  const send = async (rows: readonly OutboxRow[]): Promise<void> => {
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
    await options.beforeSend?.(rows.map((row) => row.event_id));
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
    await options.afterSend?.(rows.map((row) => row.event_id));
  };

  const select = async (afterId: string | undefined): Promise<OutboxRow[]> => {
    const { rows } =
      afterId === undefined
        ? await options.pool.query<OutboxRow>(selectUnpublished, [batchSize])
        : await options.pool.query<OutboxRow>(selectUnpublishedAfter, [afterId, batchSize]);
    return rows;
  };

  const mark = async (rows: readonly OutboxRow[]): Promise<void> => {
    const client = session ?? options.pool;
    await client.query(markPublished, [rows.map((row) => row.id)]);
  };

  /**
   * Publishes until a read comes back short. Batches go to Kafka strictly one after another
   * (batch N+1 is sent only after N was acknowledged), but marking batch N and reading batch
   * N+2 overlap with sending N+1. The read-ahead uses an id cursor; a row whose transaction
   * committed late below the cursor is picked up by the next drain, which starts from scratch.
   * Returns how many rows it published.
   */
  const drain = async (): Promise<number> => {
    let published = 0;
    let rows = await select(undefined);
    let acked: readonly OutboxRow[] | undefined;
    try {
      while (rows.length > 0) {
        const last = rows[rows.length - 1];
        const readAhead = rows.length === batchSize && !stopping && last !== undefined ? select(last.id) : Promise.resolve([]);
        // Send batch N while marking batch N-1 and reading batch N+1: three round trips overlap.
        const [, , next] = await Promise.all([send(rows), acked === undefined ? Promise.resolve() : mark(acked), readAhead]);
        published += rows.length;
        acked = rows;
        rows = next;
      }
    } finally {
      if (acked !== undefined) await mark(acked);
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

  const loop = async (): Promise<void> => {
    while (!stopping) {
      try {
        session ??= await openSession();
        if (!leader) {
          const { rows } = await session.query<{ locked: boolean }>(
            "SELECT pg_try_advisory_lock($1::bigint) AS locked",
            [lockKey],
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
        await idle(pollIntervalMs);
      } catch (error) {
        logger.error({ err: error }, "outbox relay: batch failed, will retry");
        if (session !== undefined) {
          // Checks the session is alive; a broken one is dropped (and with it the leader lock).
          const alive = await session.query("SELECT 1").then(
            () => true,
            () => false,
          );
          if (!alive) closeSession(error instanceof Error ? error : new Error(String(error)));
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
      if (session !== undefined) {
        if (leader) await session.query("SELECT pg_advisory_unlock($1::bigint)", [lockKey]).catch(() => undefined);
        await session.query("UNLISTEN outbox").catch(() => undefined);
        closeSession();
      }
      await producer.disconnect();
    },
  };
}
