import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { unwrap } from "@tributary/result";
import { testKafkaBrokers } from "@tributary/testkit/vitest";
import type { PoolClient } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createIdempotentProducer,
  discardDeadLetter,
  listDeadLetters,
  listParkedKeys,
  NonRetryableError,
  replayDeadLetters,
  startIdempotentConsumer,
  type ConsumedEvent,
} from "../src/index.js";
import { caughtUp, cancellation, produce } from "./consumer-support.js";
import {
  createTestTopic,
  effects,
  eventsDatabaseUrl,
  eventually,
  newTestTopic,
  randomUUID,
  recordEffect,
  testKafka,
  testPool,
  type TestTopic,
} from "./support.js";

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

/** A consumer whose handler refuses an `OrderCancelled` with reason "refuse" until `fixed()` says otherwise. */
function consume(topic: TestTopic, groupId: string, fixed: () => boolean) {
  return startIdempotentConsumer({
    kafka,
    pool,
    groupId,
    topic,
    maxAttempts: 2,
    retryBackoffMs: 20,
    parkedPollIntervalMs: 200,
    handle: async (event: ConsumedEvent<TestTopic>, tx: PoolClient) => {
      if (event.message.$typeName === "tributary.order.v1.OrderCancelled" && event.message.reason === "refuse" && !fixed()) {
        throw new NonRetryableError("reason 'refuse' is not allowed");
      }
      await recordEffect(groupId, event, tx);
    },
  });
}

/** The notes of a group's effects, `key:note`, in the order they were applied. */
async function applied(groupId: string): Promise<string[]> {
  return (await effects(pool, groupId)).map((e) => `${e.message_key}:${e.note}`);
}

async function resolutions(groupId: string) {
  const { rows } = await pool.query<{ event_id: string | null; resolution: string; reason: string | null; resolved_by: string | null; dead_letter_reason: string }>(
    `SELECT "event_id", "resolution", "reason", "resolved_by", "dead_letter_reason" FROM "dead_letter_resolution" WHERE "consumer_group" = $1 ORDER BY "id"`,
    [groupId],
  );
  return rows;
}

describe("parked keys", () => {
  it("holds a key's later events behind its dead letter while other keys flow, and applies them in order after the replay", async () => {
    const topic = newTestTopic("parked-replay");
    await createTestTopic(kafka, topic, 1);
    const groupId = `parked-replay-${randomUUID()}`;
    let fixed = false;
    const k2 = cancellation("k", "refuse");
    await produce(producer, topic, [
      cancellation("k", "1"),
      k2,
      cancellation("j", "1"),
      cancellation("k", "3"),
      cancellation("k", "4"),
      cancellation("j", "2"),
    ]);
    let consumer = await consume(topic, groupId, () => fixed);
    try {
      await caughtUp(kafka, groupId, topic);
      // k:3 and k:4 wait behind the dead letter; j is not held.
      expect(await applied(groupId)).toEqual(["k:1", "j:1", "j:2"]);
      expect(await listParkedKeys(pool, { consumerGroup: groupId })).toMatchObject([
        { topic: topic.name, key: "k", deadLetterEventId: k2.eventId, reason: "non_retryable: reason 'refuse' is not allowed", releasedAt: undefined, parkedEvents: 2 },
      ]);
      // Only the refused event is a dead letter; the parked ones are not.
      expect((await listDeadLetters(kafka, topic.deadLetterName)).map((l) => l.eventId)).toEqual([k2.eventId]);
    } finally {
      await consumer.stop();
    }

    // A redelivery of the whole partition (a crash after commit, before the offset commit) parks nothing
    // twice and applies nothing twice; a new event of the parked key is parked too, one of j flows.
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId, topic: topic.name, partitions: [{ partition: 0, offset: "0" }] });
    await admin.disconnect();
    await produce(producer, topic, [cancellation("k", "5"), cancellation("j", "3")]);
    consumer = await consume(topic, groupId, () => fixed);
    try {
      await caughtUp(kafka, groupId, topic);
      expect(await applied(groupId)).toEqual(["k:1", "j:1", "j:2", "j:3"]);
      expect((await listParkedKeys(pool, { consumerGroup: groupId })).map((p) => [p.key, p.parkedEvents])).toEqual([["k", 3]]);

      fixed = true;
      const replayed = await replayDeadLetters(kafka, topic.deadLetterName, { eventId: k2.eventId });
      expect(replayed.length).toBeGreaterThan(0);
      await eventually(async () => ((await listParkedKeys(pool, { consumerGroup: groupId })).length === 0 ? true : undefined), "k to drain");
      expect(await applied(groupId)).toEqual(["k:1", "j:1", "j:2", "j:3", "k:refuse", "k:3", "k:4", "k:5"]);
      expect(await resolutions(groupId)).toMatchObject([{ event_id: k2.eventId, resolution: "replayed", reason: null }]);

      // The key flows again.
      await produce(producer, topic, [cancellation("k", "6")]);
      await caughtUp(kafka, groupId, topic);
      expect((await applied(groupId)).slice(-1)).toEqual(["k:6"]);
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "parked_event" WHERE "consumer_group" = $1`, [groupId]);
      expect(rows[0]?.n).toBe(0);
    } finally {
      await consumer.stop();
    }
  });

  it("lets a key flow again after its dead letter is discarded with a reason, keeping order through a second dead letter", async () => {
    const topic = newTestTopic("parked-discard");
    await createTestTopic(kafka, topic, 1);
    const groupId = `parked-discard-${randomUUID()}`;
    const k2 = cancellation("k", "refuse");
    const undecodable = { ...cancellation("k", "4"), value: Buffer.from([0xff, 0xff, 0xff]) };
    const keyless = { ...cancellation("x", "1"), key: null };
    await produce(producer, topic, [
      cancellation("k", "1"),
      k2,
      cancellation("j", "1"),
      cancellation("k", "3"),
      undecodable,
      cancellation("k", "5"),
      keyless,
      cancellation("j", "2"),
    ]);
    const consumer = await consume(topic, groupId, () => false);
    try {
      await caughtUp(kafka, groupId, topic);
      expect(await applied(groupId)).toEqual(["k:1", "j:1", "j:2"]);
      expect((await listParkedKeys(pool, { consumerGroup: groupId })).map((p) => [p.key, p.deadLetterEventId, p.parkedEvents])).toEqual([
        ["k", k2.eventId, 3],
      ]);
      // A message without a key is refused at once: there is no key to order or park.
      const letters = await listDeadLetters(kafka, topic.deadLetterName);
      expect(letters.map((l) => [l.eventId, l.reason])).toEqual([
        [k2.eventId, "non_retryable: reason 'refuse' is not allowed"],
        [keyless.eventId, "missing_key: the message has no key (the aggregate id)"],
      ]);

      // Discarding needs a reason, and the group that parked the key.
      expect(await discardDeadLetter(pool, { consumerGroup: groupId, eventId: k2.eventId, reason: " ", by: "ops" })).toEqual({
        ok: false,
        error: { code: "reason_required" },
      });
      const elsewhere = await discardDeadLetter(pool, { consumerGroup: `${groupId}-other`, eventId: k2.eventId, reason: "r", by: "ops" });
      expect(elsewhere.ok ? undefined : elsewhere.error.code).toBe("not_parked");

      const env = { ...process.env, KAFKA_BROKERS: testKafkaBrokers().join(","), DATABASE_URL: eventsDatabaseUrl() };
      const discarded = spawnSync(
        process.execPath,
        ["--import", "tsx", "--conditions=source", cli, "discard", "--group", groupId, "--event-id", k2.eventId, "--reason", "refunded by hand", "--by", "ops@test"],
        { cwd: repoRoot, env, encoding: "utf8" },
      );
      expect(discarded.status, discarded.stderr).toBe(0);

      // k:3 applies; the undecodable event behind it is dead-lettered in its turn and parks k again, so k:5 still waits.
      await eventually(
        async () => ((await listParkedKeys(pool, { consumerGroup: groupId }))[0]?.deadLetterEventId === undecodable.eventId ? true : undefined),
        "k to park behind the undecodable event",
      );
      expect(await applied(groupId)).toEqual(["k:1", "j:1", "j:2", "k:3"]);
      const parked = await listParkedKeys(pool, { consumerGroup: groupId });
      expect(parked).toMatchObject([{ key: "k", releasedAt: undefined, parkedEvents: 1 }]);
      expect(parked[0]?.reason).toMatch(/^undecodable: /);
      expect(await resolutions(groupId)).toMatchObject([
        { event_id: k2.eventId, resolution: "discarded", reason: "refunded by hand", resolved_by: "ops@test" },
      ]);

      // A replay of the discarded letter is never applied, even behind the key's next dead letter.
      await replayDeadLetters(kafka, topic.deadLetterName, { eventId: k2.eventId });
      await caughtUp(kafka, groupId, topic);
      unwrap(await discardDeadLetter(pool, { consumerGroup: groupId, eventId: undecodable.eventId, reason: "corrupt bytes", by: "ops" }));
      await eventually(async () => ((await listParkedKeys(pool, { consumerGroup: groupId })).length === 0 ? true : undefined), "k to drain");
      expect(await applied(groupId)).toEqual(["k:1", "j:1", "j:2", "k:3", "k:5"]);
    } finally {
      await consumer.stop();
    }
  });
});
