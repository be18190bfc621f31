import { create, fromBinary } from "@bufbuild/protobuf";
import { OrderCancelledSchema, OrderPaidSchema } from "@tributary/contracts/order/v1/order_events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendToOutbox, startOutboxRelay } from "../src/index.js";
import { appendCancellations, createTestTopic, eventually, newTestTopic, readAll, testKafka, testPool } from "./support.js";

const pool = testPool();
const kafka = testKafka();
beforeAll(async () => {
  // Rows other test files left unpublished must not hold up this file's relays.
  await pool.query(`UPDATE "outbox" SET "published_at" = now() WHERE "published_at" IS NULL`);
});
afterAll(async () => {
  await pool.end();
});

async function unpublished(eventIds: readonly string[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "outbox" WHERE "event_id" = ANY($1::uuid[]) AND "published_at" IS NULL`,
    [eventIds],
  );
  return rows[0]?.n ?? -1;
}

describe("appendToOutbox", () => {
  it("writes the events only when the surrounding transaction commits", async () => {
    const topic = newTestTopic("atomic");
    // Created although nothing here publishes: a later relay must be able to send the row.
    await createTestTopic(kafka, topic, 1);
    const tx = await pool.connect();
    let rolledBack: string[];
    try {
      await tx.query("BEGIN");
      rolledBack = await appendToOutbox(tx, "events-test", topic, [
        { key: "order-r", schema: OrderCancelledSchema, message: create(OrderCancelledSchema, { orderId: "order-r" }) },
      ]);
      await tx.query("ROLLBACK");
    } finally {
      tx.release();
    }
    const committed = await appendCancellations(pool, topic, [{ key: "order-c", seq: 1 }]);
    const { rows } = await pool.query(`SELECT "event_id", "topic", "message_key", "event_type", "headers" FROM "outbox" WHERE "topic" = $1`, [topic.name]);
    expect(rows.map((r: { event_id: string }) => r.event_id)).toEqual(committed);
    expect(rolledBack).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      message_key: "order-c",
      event_type: "tributary.order.v1.OrderCancelled",
      headers: {
        "event-id": committed[0],
        "event-type": "tributary.order.v1.OrderCancelled",
        "schema-version": "1",
        producer: "events-test",
        "content-type": "application/x-protobuf",
      },
    });
  });

  it("refuses a message type the topic does not carry", async () => {
    const topic = newTestTopic("typed");
    const tx = await pool.connect();
    try {
      await tx.query("BEGIN");
      await expect(
        appendToOutbox(tx, "events-test", topic, [
          // @ts-expect-error OrderPaid is not one of the topic's message types.
          { key: "order-x", schema: OrderPaidSchema, message: create(OrderPaidSchema, { orderId: "order-x" }) },
        ]),
      ).rejects.toThrow(/not a message type of topic/);
    } finally {
      await tx.query("ROLLBACK");
      tx.release();
    }
  });
});

describe("outbox relay", () => {
  it("publishes every committed event with its envelope, in order per key across relay restarts", async () => {
    const topic = newTestTopic("order");
    await createTestTopic(kafka, topic, 3);
    const keys = ["order-1", "order-2", "order-3", "order-4", "order-5"];
    const appendRound = async (round: number): Promise<string[]> => {
      const ids: string[] = [];
      // Several transactions, each interleaving the keys.
      for (let tx = 0; tx < 4; tx += 1) {
        ids.push(...(await appendCancellations(pool, topic, keys.map((key) => ({ key, seq: round * 100 + tx })))));
      }
      return ids;
    };
    const firstIds = await appendRound(0);
    let relay = await startOutboxRelay({ pool, kafka, producerName: "events-test", batchSize: 7, pollIntervalMs: 200 });
    await eventually(async () => ((await unpublished(firstIds)) < firstIds.length ? true : undefined), "a first batch");
    await relay.stop();
    const secondIds = await appendRound(1);
    relay = await startOutboxRelay({ pool, kafka, producerName: "events-test", batchSize: 7, pollIntervalMs: 200 });
    try {
      await eventually(async () => ((await unpublished([...firstIds, ...secondIds])) === 0 ? true : undefined), "everything published");
    } finally {
      await relay.stop();
    }

    const messages = await readAll(kafka, topic.name);
    expect(messages.map((m) => m.headers["event-id"]).sort()).toEqual([...firstIds, ...secondIds].sort());
    for (const key of keys) {
      const seqs = messages
        .filter((m) => m.key === key)
        .map((m) => Number(fromBinary(OrderCancelledSchema, m.value ?? new Uint8Array()).reason));
      expect(seqs).toEqual([0, 1, 2, 3, 100, 101, 102, 103]);
      // One key, one partition.
      expect(new Set(messages.filter((m) => m.key === key).map((m) => m.partition)).size).toBe(1);
    }
    const sample = messages[0];
    expect(sample?.headers).toMatchObject({
      "event-type": "tributary.order.v1.OrderCancelled",
      "schema-version": "1",
      producer: "events-test",
      "content-type": "application/x-protobuf",
    });
    expect(sample?.headers["occurred-at"]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(sample?.headers["event-id"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
  });

  it("wakes up on NOTIFY without waiting for its poll", async () => {
    const topic = newTestTopic("notify");
    await createTestTopic(kafka, topic, 1);
    // A poll an hour apart: only the notification can make it publish within the test.
    const relay = await startOutboxRelay({ pool, kafka, producerName: "events-test", pollIntervalMs: 3_600_000 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const ids = await appendCancellations(pool, topic, [{ key: "order-n", seq: 1 }]);
      await eventually(async () => ((await unpublished(ids)) === 0 ? true : undefined), "the notified publish", 20_000);
    } finally {
      await relay.stop();
    }
  });

  it("lets only one of two relays publish at a time", async () => {
    const topic = newTestTopic("leader");
    await createTestTopic(kafka, topic, 1);
    const sentBy: string[] = [];
    const start = (name: string) =>
      startOutboxRelay({
        pool,
        kafka,
        producerName: name,
        batchSize: 5,
        pollIntervalMs: 100,
        afterSend: async () => void sentBy.push(name),
      });
    const [a, b] = await Promise.all([start("a"), start("b")]);
    try {
      const ids = await appendCancellations(pool, topic, Array.from({ length: 30 }, (_, seq) => ({ key: "order-l", seq })));
      await eventually(async () => ((await unpublished(ids)) === 0 ? true : undefined), "everything published");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(new Set(sentBy).size).toBe(1);
    const seqs = (await readAll(kafka, topic.name)).map((m) => Number(fromBinary(OrderCancelledSchema, m.value ?? new Uint8Array()).reason));
    expect(seqs).toEqual(Array.from({ length: 30 }, (_, seq) => seq));
  });
});
