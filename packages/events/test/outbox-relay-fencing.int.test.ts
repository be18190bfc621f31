/**
 * A fenced relay (issue 8, point 8): a relay whose leader session is gone does not send, and the
 * relay's session settings (synchronous_commit = off, LISTEN, the lock) never reach a connection
 * the pool hands to business transactions. Also: the leader prunes past retention (point 7).
 */
import { randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { startOutboxRelay } from "../src/index.js";
import { appendCancellations, createTestTopic, eventsDatabaseUrl, eventually, newTestTopic, readAll, testKafka, testPool } from "./support.js";

const pool = testPool();
const kafka = testKafka();
beforeAll(async () => {
  await pool.query(`UPDATE "outbox" SET "published_at" = now() WHERE "published_at" IS NULL`);
});
afterAll(async () => {
  await pool.end();
});

async function allPublished(eventIds: readonly string[]): Promise<true | undefined> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "outbox" WHERE "event_id" = ANY($1::uuid[]) AND "published_at" IS NOT NULL`,
    [eventIds],
  );
  return rows[0]?.n === eventIds.length ? true : undefined;
}

describe("a fenced relay", () => {
  it("does not send once its leader session is gone, while the new leader publishes everything once", async () => {
    const topic = newTestTopic("fenced");
    await createTestTopic(kafka, topic, 1);
    const leaderLockKey = BigInt(randomInt(1, 2 ** 47));
    const sentBy: string[] = [];
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let paused: () => void = () => undefined;
    const pausedBeforeSend = new Promise<void>((resolve) => (paused = resolve));
    const ids = await appendCancellations(pool, topic, [1, 2, 3].map((seq) => ({ key: "order-f", seq })));
    const first = await startOutboxRelay({
      pool,
      kafka,
      producerName: "first",
      leaderLockKey,
      pollIntervalMs: 100,
      retryDelayMs: 100,
      beforeSend: async () => {
        paused();
        await gate;
      },
      afterSend: async (eventIds) => void (eventIds.length > 0 && sentBy.push("first")),
    });
    let second: Awaited<ReturnType<typeof startOutboxRelay>> | undefined;
    try {
      await pausedBeforeSend;
      // The first relay's lock session dies (an idle-session kill, a failover) while it holds a batch.
      const high = (BigInt.asUintN(64, leaderLockKey) >> 32n).toString();
      const low = (BigInt.asUintN(64, leaderLockKey) & 0xffffffffn).toString();
      const { rows } = await pool.query<{ pid: number }>(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1 AND granted`,
        [high, low],
      );
      expect(rows).toHaveLength(1);
      await pool.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
      second = await startOutboxRelay({
        pool,
        kafka,
        producerName: "second",
        leaderLockKey,
        pollIntervalMs: 100,
        afterSend: async (eventIds) => void (eventIds.length > 0 && sentBy.push("second")),
      });
      await eventually(() => allPublished(ids), "the new leader to publish everything");
      openGate();
      // stop() waits for the first relay's loop: after it, the held batch was sent or refused.
      await first.stop();
    } finally {
      openGate();
      await first.stop();
      await second?.stop();
    }
    expect(sentBy.filter((name) => name === "first")).toEqual([]);
    const onKafka = (await readAll(kafka, topic.name)).map((m) => m.headers["event-id"]);
    expect(onKafka).toEqual(ids);
  });

  it("leaves no session setting, LISTEN or lock on the pool's connections after it ran", async () => {
    const topic = newTestTopic("no-leak");
    await createTestTopic(kafka, topic, 1);
    // Two connections: the relay's session and one for its reads. Both go back (or not) to this pool.
    const small = new pg.Pool({ connectionString: eventsDatabaseUrl(), max: 2 });
    small.on("error", () => undefined);
    try {
      const ids = await appendCancellations(small, topic, [{ key: "order-s", seq: 1 }]);
      const relay = await startOutboxRelay({ pool: small, kafka, producerName: "no-leak", pollIntervalMs: 100 });
      try {
        await eventually(() => allPublished(ids), "the row published");
      } finally {
        await relay.stop();
      }
      // Whatever the pool hands out now is what a business transaction would get.
      const clients = await Promise.all([small.connect(), small.connect()]);
      try {
        for (const client of clients) {
          const { rows } = await client.query<{ sync: string; listening: number; locks: number }>(
            `SELECT current_setting('synchronous_commit') AS sync,
                    (SELECT count(*)::int FROM pg_listening_channels()) AS listening,
                    (SELECT count(*)::int FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory') AS locks`,
          );
          expect(rows[0]).toEqual({ sync: "on", listening: 0, locks: 0 });
        }
      } finally {
        for (const client of clients) client.release();
      }
    } finally {
      await small.end();
    }
  });
});

describe("retention", () => {
  it("prunes published outbox rows and inbox ids past their retention, and nothing unpublished", async () => {
    const topic = newTestTopic("retention");
    const [oldPublished = "", recentPublished = "", oldQuarantined = ""] = await appendCancellations(pool, topic, [
      { key: "order-r1", seq: 1 },
      { key: "order-r2", seq: 2 },
      { key: "order-r3", seq: 3 },
    ]);
    await pool.query(`UPDATE "outbox" SET "published_at" = now() - interval '3 days' WHERE "event_id" = $1`, [oldPublished]);
    await pool.query(`UPDATE "outbox" SET "published_at" = now() - interval '1 hour' WHERE "event_id" = $1`, [recentPublished]);
    await pool.query(
      `UPDATE "outbox" SET "created_at" = now() - interval '30 days', "quarantined_at" = now() - interval '30 days', "quarantine_reason" = 'test' WHERE "event_id" = $1`,
      [oldQuarantined],
    );
    const group = `retention-${randomInt(1, 1_000_000)}`;
    await pool.query(
      `INSERT INTO "inbox" ("consumer_group", "event_id", "topic", "partition", "offset", "processed_at")
       VALUES ($1, gen_random_uuid(), 't', 0, 0, now() - interval '5 days'), ($1, gen_random_uuid(), 't', 0, 1, now() - interval '1 day')`,
      [group],
    );
    const relay = await startOutboxRelay({
      pool,
      kafka,
      producerName: "retention",
      pollIntervalMs: 100,
      publishedRetentionMs: 24 * 60 * 60 * 1000,
      inboxRetentionMs: 2 * 24 * 60 * 60 * 1000,
    });
    try {
      await eventually(async () => {
        const { rows } = await pool.query(`SELECT 1 FROM "outbox" WHERE "event_id" = $1`, [oldPublished]);
        return rows.length === 0 ? true : undefined;
      }, "the old published row pruned");
      await eventually(async () => {
        const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "inbox" WHERE "consumer_group" = $1`, [group]);
        return rows[0]?.n === 1 ? true : undefined;
      }, "the old inbox id pruned");
    } finally {
      await relay.stop();
    }
    const { rows } = await pool.query<{ event_id: string }>(`SELECT "event_id" FROM "outbox" WHERE "event_id" = ANY($1::uuid[]) ORDER BY "id"`, [
      [oldPublished, recentPublished, oldQuarantined],
    ]);
    expect(rows.map((row) => row.event_id)).toEqual([recentPublished, oldQuarantined]);
    const { rows: inbox } = await pool.query<{ recent: boolean }>(
      `SELECT "processed_at" > now() - interval '2 days' AS recent FROM "inbox" WHERE "consumer_group" = $1`,
      [group],
    );
    expect(inbox).toEqual([{ recent: true }]);
  });
});
