/**
 * Per-key order is the outbox's own guarantee (issue 8, point 5): two transactions that append for
 * one key reach Kafka in the order they committed, whatever ids they drew and whenever the relay
 * reads — enforced by appendToOutbox's key lock and by the relay reading without an id cursor.
 */
import { create, fromBinary } from "@bufbuild/protobuf";
import { OrderCancelledSchema } from "@tributary/contracts/order/v1/order_events";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendToOutbox, startOutboxRelay } from "../src/index.js";
import { appendCancellations, createTestTopic, eventually, newTestTopic, readAll, testKafka, testPool, type TestTopic } from "./support.js";

const pool = testPool();
const kafka = testKafka();
beforeAll(async () => {
  // Rows other test files left unpublished must not hold up this file's relays.
  await pool.query(`UPDATE "outbox" SET "published_at" = now() WHERE "published_at" IS NULL`);
});
afterAll(async () => {
  await pool.end();
});

async function appendOne(tx: pg.PoolClient, topic: TestTopic, key: string, reason: string): Promise<string> {
  const [id] = await appendToOutbox(tx, "events-test", topic, [
    { key, schema: OrderCancelledSchema, message: create(OrderCancelledSchema, { orderId: key, reason }) },
  ]);
  return id ?? "";
}

async function allPublished(eventIds: readonly string[]): Promise<true | undefined> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "outbox" WHERE "event_id" = ANY($1::uuid[]) AND "published_at" IS NOT NULL`,
    [eventIds],
  );
  return rows[0]?.n === eventIds.length ? true : undefined;
}

async function reasonsOnKafka(topic: TestTopic, key: string): Promise<string[]> {
  return (await readAll(kafka, topic.name))
    .filter((m) => m.key === key)
    .map((m) => fromBinary(OrderCancelledSchema, m.value ?? new Uint8Array()).reason);
}

describe("per-key order of the outbox", () => {
  it("publishes two concurrent transactions of one key in the order they committed", async () => {
    const topic = newTestTopic("key-lock");
    await createTestTopic(kafka, topic, 1);
    const first = await pool.connect();
    const second = await pool.connect();
    const committed: string[] = [];
    const ids: string[] = [];
    try {
      await first.query("BEGIN");
      await second.query("BEGIN");
      // The first transaction appends (and draws its id) but does not commit yet.
      ids.push(await appendOne(first, topic, "order-k", "first"));
      const { rows } = await second.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      const secondPid = rows[0]?.pid;
      // The second appends for the same key and commits as soon as it can.
      const secondDone = (async () => {
        ids.push(await appendOne(second, topic, "order-k", "second"));
        await second.query("COMMIT");
        committed.push("second");
      })();
      // Either it committed (nothing serialised the key) or it waits on a lock (the key lock).
      await eventually(async () => {
        if (committed.includes("second")) return true;
        const { rows: activity } = await pool.query<{ waiting: boolean }>(
          `SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1`,
          [secondPid],
        );
        return activity[0]?.waiting === true ? true : undefined;
      }, "the second transaction to commit or wait for the key");
      await first.query("COMMIT");
      committed.push("first");
      await secondDone;
    } finally {
      first.release();
      second.release();
    }

    const relay = await startOutboxRelay({ pool, kafka, producerName: "events-test", pollIntervalMs: 100 });
    try {
      await eventually(() => allPublished(ids), "both events published");
    } finally {
      await relay.stop();
    }
    // Published in commit order (which, with the key lock, is also the order of the appends).
    expect(await reasonsOnKafka(topic, "order-k")).toEqual(committed);
    expect(committed).toEqual(["first", "second"]);
  });

  it("does not let a key's later row overtake a row that committed late below rows already sent", async () => {
    const topic = newTestTopic("late-commit");
    await createTestTopic(kafka, topic, 1);
    const late = await pool.connect();
    let releaseFirstSend: () => void = () => undefined;
    const firstSendHeld = new Promise<void>((resolve) => (releaseFirstSend = resolve));
    let firstSendReached: () => void = () => undefined;
    const firstSendStarted = new Promise<void>((resolve) => (firstSendReached = resolve));
    let sends = 0;
    const ids: string[] = [];
    let relay: Awaited<ReturnType<typeof startOutboxRelay>> | undefined;
    try {
      await late.query("BEGIN");
      // Row K1 draws the lowest id but stays uncommitted while four rows of another key commit.
      ids.push(await appendOne(late, topic, "order-k", "1"));
      ids.push(...(await appendCancellations(pool, topic, [1, 2, 3, 4].map((seq) => ({ key: "order-o", seq })))));
      relay = await startOutboxRelay({
        pool,
        kafka,
        producerName: "events-test",
        batchSize: 2,
        pollIntervalMs: 100,
        beforeSend: async () => {
          sends += 1;
          if (sends !== 1) return;
          firstSendReached();
          await firstSendHeld;
        },
      });
      // The relay has read [O1, O2] (K1 invisible) and is about to send them.
      await firstSendStarted;
      await late.query("COMMIT");
      // K2 commits after K1: it must reach Kafka after K1.
      ids.push(...(await appendCancellations(pool, topic, [{ key: "order-k", seq: 2 }])));
      releaseFirstSend();
      await eventually(() => allPublished(ids), "every event published");
    } finally {
      releaseFirstSend();
      late.release();
      await relay?.stop();
    }
    expect(await reasonsOnKafka(topic, "order-k")).toEqual(["1", "2"]);
  });
});
