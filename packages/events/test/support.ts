/**
 * Shared set-up of the events integration tests: the real broker and the real
 * `tributary_events_test_<pid>` database from the testkit's global setup, a fresh topic per test,
 * and a handler whose one-row effect in `test_effect` shows how often an event was applied.
 */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { defineTopic } from "@tributary/contracts";
import { OrderCancelledSchema, OrderPaymentFailedSchema } from "@tributary/contracts/order/v1/order_events";
import { testDatabaseUrl, testKafkaBrokers } from "@tributary/testkit/vitest";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { appendToOutbox, ensureTopics, type ConsumedEvent } from "../src/index.js";

process.env["KAFKAJS_NO_PARTITIONER_WARNING"] = "1";

/** A topic made for one test, carrying two order event types. */
export function newTestTopic(label: string) {
  return defineTopic(`events-test.${label}.${randomUUID().slice(0, 8)}`, [OrderCancelledSchema, OrderPaymentFailedSchema], {
    partitions: 3,
    replicationFactor: 3,
    minInsyncReplicas: 2,
  });
}
export type TestTopic = ReturnType<typeof newTestTopic>;

export function testKafka(clientId = "events-test"): Kafka {
  return new Kafka({ clientId, brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING });
}

/** The events test database of this run: `tributary_events_test_<pid>` from the global setup. */
export function eventsDatabaseUrl(): string {
  return testDatabaseUrl("tributary_events");
}

export function testPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: eventsDatabaseUrl(), max: 8 });
  // An idle client whose server connection ends must not crash the test run.
  pool.on("error", () => undefined);
  return pool;
}

export async function createTestTopic(kafka: Kafka, topic: TestTopic, numPartitions = 3): Promise<void> {
  await ensureTopics(kafka, [topic], { numPartitions });
}

/** Appends `OrderCancelled` events (reason = their sequence number) in one committed transaction. */
export async function appendCancellations(
  pool: pg.Pool,
  topic: TestTopic,
  events: readonly { key: string; seq: number; eventId?: string }[],
): Promise<string[]> {
  const tx = await pool.connect();
  try {
    await tx.query("BEGIN");
    const ids = await appendToOutbox(
      tx,
      "events-test",
      topic,
      events.map((e) => ({
        key: e.key,
        schema: OrderCancelledSchema,
        message: create(OrderCancelledSchema, { orderId: e.key, reason: String(e.seq) }),
        ...(e.eventId === undefined ? {} : { eventId: e.eventId }),
      })),
    );
    await tx.query("COMMIT");
    return ids;
  } catch (error) {
    await tx.query("ROLLBACK");
    throw error;
  } finally {
    tx.release();
  }
}

/** The one-row effect: what an idempotent handler must write exactly once per event. */
export async function recordEffect(
  groupId: string,
  event: ConsumedEvent<TestTopic>,
  tx: pg.PoolClient,
  note = "",
): Promise<void> {
  const seq = event.message.$typeName === "tributary.order.v1.OrderCancelled" ? event.message.reason : note;
  await tx.query(
    `INSERT INTO "test_effect" ("consumer_group", "event_id", "message_key", "event_type", "note") VALUES ($1, $2, $3, $4, $5)`,
    [groupId, event.eventId, event.key, event.eventType, seq],
  );
}

export interface EffectRow {
  readonly event_id: string;
  readonly message_key: string;
  readonly note: string;
}

/** Effects of one consumer group, in the order they were applied. */
export async function effects(pool: pg.Pool, groupId: string): Promise<EffectRow[]> {
  const { rows } = await pool.query<EffectRow>(
    `SELECT "event_id", "message_key", "note" FROM "test_effect" WHERE "consumer_group" = $1 ORDER BY "id"`,
    [groupId],
  );
  return rows;
}

/** Polls until `check` returns a value; a deadline for waiting, not a timing assertion. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Reads every message of a topic (up to its current end) with a throwaway group. */
export async function readAll(kafka: Kafka, topic: string): Promise<{ partition: number; key: string; headers: Record<string, string>; value: Buffer | null }[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.filter((o) => Number(o.high) > Number(o.low)).map((o) => [o.partition, Number(o.high) - 1]));
  const out: { partition: number; key: string; headers: Record<string, string>; value: Buffer | null; offset: number }[] = [];
  if (remaining.size === 0) return [];
  const consumer = kafka.consumer({ groupId: `read-all-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
        out.push({ partition, key: message.key?.toString() ?? "", headers, value: message.value, offset: Number(message.offset) });
        if (Number(message.offset) >= (remaining.get(partition) ?? -1)) remaining.delete(partition);
        if (remaining.size === 0) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

export { randomUUID };
