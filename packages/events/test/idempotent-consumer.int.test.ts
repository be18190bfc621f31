import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { OrderCancelledSchema, OrderPaidSchema } from "@tributary/contracts/order/v1/order_events";
import { testKafkaBrokers } from "@tributary/testkit/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createIdempotentProducer,
  listDeadLetters,
  NonRetryableError,
  startIdempotentConsumer,
  type ConsumedEvent,
} from "../src/index.js";
import {
  createTestTopic,
  effects,
  newTestTopic,
  randomUUID,
  readAll,
  recordEffect,
  testKafka,
  testPool,
  type TestTopic,
} from "./support.js";
import type { PoolClient } from "pg";
import { caughtUp as groupCaughtUp, cancellation as cancelledEvent, produce as produceMessages, type TestMessage } from "./consumer-support.js";

const pool = testPool();
const kafka = testKafka();
const producer = createIdempotentProducer(kafka);
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const cli = fileURLToPath(new URL("../src/cli/dead-letters.ts", import.meta.url));

beforeAll(async () => {
  await producer.connect();
});
afterAll(async () => {
  await producer.disconnect();
  await pool.end();
});

/** An `OrderCancelled` as it travels (seq becomes its reason, the effect's note). */
const cancellation = (key: string, seq: number, eventId?: string) => cancelledEvent(key, String(seq), eventId);
const produce = (topic: TestTopic, messages: readonly TestMessage[]) => produceMessages(producer, topic, messages);
const caughtUp = (groupId: string, topic: TestTopic) => groupCaughtUp(kafka, groupId, topic);

function consume(topic: TestTopic, groupId: string, handle?: (event: ConsumedEvent<TestTopic>, tx: PoolClient) => Promise<void>) {
  return startIdempotentConsumer({
    kafka,
    pool,
    groupId,
    topic,
    maxAttempts: 3,
    retryBackoffMs: 50,
    handle: handle ?? ((event, tx) => recordEffect(groupId, event, tx)),
  });
}

describe("idempotent consumer", () => {
  it("applies an event delivered twice once, and a whole-partition replay from offset 0 changes nothing", async () => {
    const topic = newTestTopic("dupes");
    await createTestTopic(kafka, topic, 2);
    const groupId = `dupes-${randomUUID()}`;
    const first = cancellation("order-a", 1);
    const second = cancellation("order-b", 2);
    // The same event twice in one batch, and again later in its own batch.
    await produce(topic, [first, first, second]);
    let consumer = await consume(topic, groupId);
    try {
      await produce(topic, [first]);
      await caughtUp(groupId, topic);
    } finally {
      await consumer.stop();
    }
    const once = await effects(pool, groupId);
    expect(once.map((e) => e.event_id).sort()).toEqual([first.eventId, second.eventId].sort());

    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({
      groupId,
      topic: topic.name,
      partitions: [0, 1].map((partition) => ({ partition, offset: "0" })),
    });
    const [reset] = await admin.fetchOffsets({ groupId, topics: [topic.name] });
    await admin.disconnect();
    expect(reset?.partitions.every((p) => p.offset === "0")).toBe(true);

    let redelivered = 0;
    consumer = await consume(topic, groupId, async (event, tx) => {
      redelivered += 1;
      await recordEffect(groupId, event, tx);
    });
    try {
      await caughtUp(groupId, topic);
    } finally {
      await consumer.stop();
    }
    expect(redelivered).toBe(0);
    expect(await effects(pool, groupId)).toEqual(once);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "inbox" WHERE "consumer_group" = $1`, [groupId]);
    expect(rows[0]?.n).toBe(2);
  });

  it("applies only the new events of a redelivered batch, still as one batch", async () => {
    const topic = newTestTopic("mixed");
    await createTestTopic(kafka, topic, 1);
    const groupId = `mixed-${randomUUID()}`;
    const seen = [cancellation("order-m", 1), cancellation("order-m", 2)];
    const batchHandler = (calls: string[][]) =>
      startIdempotentConsumer({
        kafka,
        pool,
        groupId,
        topic,
        maxAttempts: 3,
        retryBackoffMs: 50,
        handleBatch: async (events, tx) => {
          calls.push(events.map((e) => e.eventId));
          for (const event of events) await recordEffect(groupId, event, tx);
        },
      });
    await produce(topic, seen);
    let consumer = await batchHandler([]);
    try {
      await caughtUp(groupId, topic);
    } finally {
      await consumer.stop();
    }
    // Rewind, and add new events behind the applied ones: the next batch mixes both kinds.
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId, topic: topic.name, partitions: [{ partition: 0, offset: "0" }] });
    await admin.disconnect();
    const fresh = [cancellation("order-m", 3), cancellation("order-m", 4)];
    await produce(topic, fresh);
    const calls: string[][] = [];
    consumer = await batchHandler(calls);
    try {
      await caughtUp(groupId, topic);
    } finally {
      await consumer.stop();
    }
    expect(calls).toEqual([fresh.map((m) => m.eventId)]);
    expect((await effects(pool, groupId)).map((e) => e.event_id)).toEqual([...seen, ...fresh].map((m) => m.eventId));
  });

  it("retries a transient failure with backoff and applies the event once", async () => {
    const topic = newTestTopic("transient");
    await createTestTopic(kafka, topic, 1);
    const groupId = `transient-${randomUUID()}`;
    let calls = 0;
    const consumer = await consume(topic, groupId, async (event, tx) => {
      calls += 1;
      // The handler's write happens, then the failure rolls it back with the inbox row.
      await recordEffect(groupId, event, tx);
      if (calls <= 2) throw new Error("database busy");
    });
    try {
      const message = cancellation("order-t", 1);
      await produce(topic, [message]);
      await caughtUp(groupId, topic);
      expect(calls).toBe(3);
      expect((await effects(pool, groupId)).map((e) => e.event_id)).toEqual([message.eventId]);
      expect(await readAll(kafka, topic.deadLetterName)).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });

  it("dead-letters poison with its reason, moves on, and a replay after the fix applies it once", async () => {
    const topic = newTestTopic("poison");
    await createTestTopic(kafka, topic, 1);
    const groupId = `poison-${randomUUID()}`;
    let fixed = false;
    const consumer = await consume(topic, groupId, async (event, tx) => {
      if (event.message.$typeName === "tributary.order.v1.OrderCancelled" && event.message.reason === "refuse" && !fixed) {
        throw new NonRetryableError("reason 'refuse' is not allowed");
      }
      if (event.message.$typeName === "tributary.order.v1.OrderCancelled" && event.message.reason === "flaky") {
        throw new Error("always fails");
      }
      await recordEffect(groupId, event, tx);
    });
    try {
      // Each poison has a key of its own: a dead letter parks its key (parked-keys.int.test.ts), so a
      // second poison of the same key would wait behind the first instead of showing its reason.
      const before = cancellation("order-p", 1);
      const undecodable = { ...cancellation("order-p2", 2), value: Buffer.from([0xff, 0xff, 0xff]) };
      const third = cancellation("order-p3", 3);
      const wrongType = { ...third, headers: { ...third.headers, "event-type": OrderPaidSchema.typeName } };
      const noEnvelope = { key: "order-p4", value: Buffer.from("hello"), headers: { "content-type": "text/plain" }, eventId: "" };
      const refused = cancellation("order-p5", 0);
      const refusedMessage = {
        ...refused,
        value: Buffer.from(toBinary(OrderCancelledSchema, create(OrderCancelledSchema, { orderId: "order-p", reason: "refuse" }))),
      };
      const flaky = {
        ...cancellation("order-p6", 0),
        value: Buffer.from(toBinary(OrderCancelledSchema, create(OrderCancelledSchema, { orderId: "order-p", reason: "flaky" }))),
      };
      const after = cancellation("order-q", 9);
      await produce(topic, [before, undecodable, wrongType, noEnvelope, refusedMessage, flaky, after]);
      await caughtUp(groupId, topic);

      // The messages after the poison on the same partition were applied.
      expect((await effects(pool, groupId)).map((e) => e.event_id)).toEqual([before.eventId, after.eventId]);

      const letters = await listDeadLetters(kafka, topic.deadLetterName);
      const byKey = (eventId: string) => letters.find((l) => l.eventId === eventId);
      expect(letters).toHaveLength(5);
      expect(byKey(undecodable.eventId)?.reason).toMatch(/^undecodable: /);
      expect(byKey(wrongType.eventId)?.reason).toBe(
        `unknown_event_type: tributary.order.v1.OrderPaid is not carried by ${topic.name}`,
      );
      expect(letters.find((l) => l.eventId === undefined)?.reason).toBe("missing_header: event-id");
      expect(byKey(refused.eventId)).toMatchObject({
        reason: "non_retryable: reason 'refuse' is not allowed",
        consumerGroup: groupId,
        attempts: 1,
        originalTopic: topic.name,
        originalPartition: "0",
        originalOffset: "4",
      });
      expect(byKey(refused.eventId)?.key?.toString()).toBe("order-p5");
      expect(byKey(refused.eventId)?.value).toEqual(refusedMessage.value);
      expect(byKey(refused.eventId)?.headers["event-type"]).toBe(OrderCancelledSchema.typeName);
      expect(byKey(flaky.eventId)).toMatchObject({ reason: "max_attempts_exceeded: always fails", attempts: 3 });

      // The CLI lists them, then replays the refused one after the fix: applied once, even when replayed twice.
      const env = { ...process.env, KAFKA_BROKERS: testKafkaBrokers().join(",") };
      const run = (args: string[]) =>
        spawnSync(process.execPath, ["--import", "tsx", "--conditions=source", cli, ...args], { cwd: repoRoot, env, encoding: "utf8" });
      const listed = run(["list", "--topic", topic.deadLetterName]);
      expect(listed.status).toBe(0);
      const listedLines = listed.stdout.trim().split("\n").map((line) => JSON.parse(line) as { eventId: string | null; reason: string });
      expect(listedLines.find((l) => l.eventId === refused.eventId)?.reason).toBe("non_retryable: reason 'refuse' is not allowed");

      fixed = true;
      for (let i = 0; i < 2; i += 1) {
        const replayed = run(["replay", "--topic", topic.deadLetterName, "--event-id", refused.eventId]);
        expect(replayed.status, replayed.stderr).toBe(0);
        expect(replayed.stderr).toContain("replayed 1 dead letter(s)");
      }
      await caughtUp(groupId, topic);
      expect((await effects(pool, groupId)).map((e) => e.event_id)).toEqual([before.eventId, after.eventId, refused.eventId]);
      // A replayed letter carries the original envelope again, without the dlq-* headers.
      const replayedCopies = (await readAll(kafka, topic.name)).filter((m) => m.headers["event-id"] === refused.eventId);
      expect(replayedCopies).toHaveLength(3);
      expect(Object.keys(replayedCopies[2]?.headers ?? {}).filter((h) => h.startsWith("dlq-"))).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });

  it("with handleBatch, applies a run in one call, and isolates a poison event to the DLQ", async () => {
    const topic = newTestTopic("batch");
    await createTestTopic(kafka, topic, 1);
    const groupId = `batch-${randomUUID()}`;
    const calls: number[] = [];
    const good = [cancellation("order-g", 1), cancellation("order-g", 2), cancellation("order-g", 3)];
    const poisonBase = cancellation("order-g", 0);
    const poison = {
      ...poisonBase,
      value: Buffer.from(toBinary(OrderCancelledSchema, create(OrderCancelledSchema, { orderId: "order-g", reason: "refuse" }))),
    };
    // Another key: the poison parks order-g, whose later events wait for it (parked-keys.int.test.ts).
    const last = cancellation("order-h", 4);
    await produce(topic, [...good, poison, last, good[0] as (typeof good)[number]]);
    const consumer = await startIdempotentConsumer({
      kafka,
      pool,
      groupId,
      topic,
      maxAttempts: 2,
      retryBackoffMs: 20,
      handleBatch: async (events, tx) => {
        calls.push(events.length);
        for (const event of events) {
          if (event.message.$typeName === "tributary.order.v1.OrderCancelled" && event.message.reason === "refuse") {
            throw new NonRetryableError("refused");
          }
          await recordEffect(groupId, event, tx);
        }
      },
    });
    try {
      await caughtUp(groupId, topic);
    } finally {
      await consumer.stop();
    }
    expect((await effects(pool, groupId)).map((e) => e.event_id)).toEqual([...good, last].map((m) => m.eventId));
    // The first call got the whole run (the trailing duplicate already filtered out), then one by one.
    expect(calls[0]).toBe(5);
    const letters = await listDeadLetters(kafka, topic.deadLetterName);
    expect(letters.map((l) => [l.eventId, l.reason])).toEqual([[poisonBase.eventId, "non_retryable: refused"]]);
  });

  it("with handleBatch, rolls a chunk back whose bytes do not decode behind a valid envelope, and applies it carefully", async () => {
    // Every envelope reads, so the chunk takes the happy path, which records the inbox rows before it
    // decodes the bytes: it must roll them back, so that the events around the undecodable one still apply.
    const topic = newTestTopic("batch-undecodable");
    await createTestTopic(kafka, topic, 1);
    const groupId = `batch-undecodable-${randomUUID()}`;
    const calls: string[][] = [];
    const before = cancellation("order-u", 1);
    const undecodable = { ...cancellation("order-u", 2), value: Buffer.from([0xff, 0xff, 0xff]) };
    const otherKey = cancellation("order-v", 3);
    const behind = cancellation("order-u", 4);
    await produce(topic, [before, undecodable, otherKey, behind]);
    const consumer = await startIdempotentConsumer({
      kafka,
      pool,
      groupId,
      topic,
      maxAttempts: 2,
      retryBackoffMs: 20,
      handleBatch: async (events, tx) => {
        calls.push(events.map((e) => e.eventId));
        for (const event of events) await recordEffect(groupId, event, tx);
      },
    });
    try {
      await caughtUp(groupId, topic);
    } finally {
      await consumer.stop();
    }
    // The event before it applies; its key is parked, so the later event of that key waits; the other key flows.
    expect((await effects(pool, groupId)).map((e) => e.event_id)).toEqual([before.eventId, otherKey.eventId]);
    expect(calls).toEqual([[before.eventId], [otherKey.eventId]]);
    const { rows } = await pool.query<{ event_id: string }>(`SELECT "event_id" FROM "inbox" WHERE "consumer_group" = $1 ORDER BY "offset"`, [groupId]);
    expect(rows.map((r) => r.event_id)).toEqual([before.eventId, otherKey.eventId]);
    const letters = await listDeadLetters(kafka, topic.deadLetterName);
    expect(letters.map((l) => l.eventId)).toEqual([undecodable.eventId]);
    expect(letters[0]?.reason).toMatch(/^undecodable: /);
  });

  it("never dead-letters a message because the database connection failed; it retries it", async () => {
    const topic = newTestTopic("db-down");
    await createTestTopic(kafka, topic, 1);
    const groupId = `db-down-${randomUUID()}`;
    let calls = 0;
    const consumer = await startIdempotentConsumer({
      kafka,
      pool,
      groupId,
      topic,
      // One attempt: a counted failure would dead-letter at once.
      maxAttempts: 1,
      retryBackoffMs: 20,
      handle: async (event, tx) => {
        calls += 1;
        if (calls <= 3) throw Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" });
        await recordEffect(groupId, event, tx);
      },
    });
    try {
      const message = cancellation("order-d", 1);
      await produce(topic, [message]);
      await caughtUp(groupId, topic);
      expect((await effects(pool, groupId)).map((e) => e.event_id)).toEqual([message.eventId]);
      expect(await readAll(kafka, topic.deadLetterName)).toEqual([]);
      expect(calls).toBeGreaterThan(3);
    } finally {
      await consumer.stop();
    }
  });
});
