import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { createIdempotentProducer, startIdempotentConsumer } from "../src/index.js";
import { caughtUp, cancellation, produce } from "./consumer-support.js";
import { createTestTopic, effects, newTestTopic, randomUUID, readAll, recordEffect, testKafka, testPool } from "./support.js";

const pool = testPool();
const kafka = testKafka();
const producer = createIdempotentProducer(kafka);

beforeAll(async () => {
  await producer.connect();
});
afterAll(async () => {
  await producer.disconnect();
  await pool.end();
});

/** Two probe rows in `test_effect` for the conflicts to fight over; returns their ids. */
async function probeRows(group: string): Promise<[string, string]> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO "test_effect" ("consumer_group", "event_id", "message_key", "event_type", "note")
     VALUES ($1, gen_random_uuid(), 'probe', 'probe', 'a'), ($1, gen_random_uuid(), 'probe', 'probe', 'b') RETURNING "id"`,
    [`probe-${group}`],
  );
  return [rows[0]?.id ?? "", rows[1]?.id ?? ""];
}

/** A real 40001 from Postgres: two SERIALIZABLE transactions, the second writes a row the first read and changed. */
async function serializationFailure(rowId: string): Promise<Error> {
  const a = await pool.connect();
  const b = await pool.connect();
  try {
    await a.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
    await a.query(`SELECT "note" FROM "test_effect" WHERE "id" = $1`, [rowId]);
    await b.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
    await b.query(`UPDATE "test_effect" SET "note" = "note" || 'b' WHERE "id" = $1`, [rowId]);
    await b.query("COMMIT");
    try {
      await a.query(`UPDATE "test_effect" SET "note" = "note" || 'a' WHERE "id" = $1`, [rowId]);
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      return error;
    } finally {
      await a.query("ROLLBACK");
    }
    throw new Error("expected a serialization failure");
  } finally {
    a.release();
    b.release();
  }
}

/** A real 40P01 from Postgres: two transactions lock the two rows in opposite orders. */
async function deadlock(rowIds: readonly [string, string]): Promise<Error> {
  const clients: pg.PoolClient[] = [await pool.connect(), await pool.connect()];
  try {
    const lock = (client: pg.PoolClient, id: string) => client.query(`UPDATE "test_effect" SET "note" = "note" WHERE "id" = $1`, [id]);
    const [a, b] = clients as [pg.PoolClient, pg.PoolClient];
    await a.query("BEGIN");
    await b.query("BEGIN");
    await lock(a, rowIds[0]);
    await lock(b, rowIds[1]);
    const outcomes = await Promise.allSettled([lock(a, rowIds[1]), lock(b, rowIds[0])]);
    const failed = outcomes.find((o) => o.status === "rejected");
    if (failed === undefined || !(failed.reason instanceof Error)) throw new Error("expected a deadlock");
    return failed.reason;
  } finally {
    for (const client of clients) {
      await client.query("ROLLBACK");
      client.release();
    }
  }
}

describe("idempotent consumer and transaction conflicts", () => {
  it("retries a real serialization failure (40001) and a real deadlock (40P01) instead of dead-lettering the event", async () => {
    const topic = newTestTopic("conflict");
    await createTestTopic(kafka, topic, 1);
    const groupId = `conflict-${randomUUID()}`;
    const rows = await probeRows(groupId);
    const thrown: string[] = [];
    let calls = 0;
    const consumer = await startIdempotentConsumer({
      kafka,
      pool,
      groupId,
      topic,
      // One attempt: any counted failure would dead-letter the event at once.
      maxAttempts: 1,
      retryBackoffMs: 20,
      handle: async (event, tx) => {
        calls += 1;
        await recordEffect(groupId, event, tx);
        const conflict = calls === 1 ? await serializationFailure(rows[0]) : calls === 2 ? await deadlock(rows) : undefined;
        if (conflict !== undefined) {
          thrown.push(String((conflict as { code?: unknown }).code));
          throw conflict;
        }
      },
    });
    try {
      const message = cancellation("order-c", "1");
      await produce(producer, topic, [message]);
      await caughtUp(kafka, groupId, topic);
      expect(thrown).toEqual(["40001", "40P01"]);
      expect(calls).toBe(3);
      expect((await effects(pool, groupId)).map((e) => e.event_id)).toEqual([message.eventId]);
      expect(await readAll(kafka, topic.deadLetterName)).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });
});
