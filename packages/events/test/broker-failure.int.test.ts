/**
 * DESIGN.md's invariant "no acknowledged order, payment or posting is lost when one Kafka broker
 * of three dies", for the backbone: events committed to the outbox while one broker of a real
 * three-node cluster is SIGKILLed all reach the consumer's effect exactly once, in order per key.
 */
import { startKafka, type KafkaCluster } from "@tributary/local-kafka";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTopicsOnceControllerKnown, startIdempotentConsumer, startOutboxRelay } from "../src/index.js";
import { appendCancellations, effects, eventually, newTestTopic, randomUUID, recordEffect, testPool } from "./support.js";

const pool = testPool();
let cluster: KafkaCluster;
let kafka: Kafka;

beforeAll(async () => {
  // Rows other test files left unpublished belong to topics this cluster does not have.
  await pool.query(`UPDATE "outbox" SET "published_at" = now() WHERE "published_at" IS NULL`);
  cluster = await startKafka({ nodes: 3 });
  kafka = new Kafka({ clientId: "broker-failure-test", brokers: [...cluster.brokers], logLevel: logLevel.NOTHING });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await pool.end();
});

async function createReplicatedTopic(name: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // kafkajs' waitForLeaders trips over a 3-node KRaft cluster; poll the metadata instead. Just
    // after start-up the cluster may name no controller yet: the events package asks again then.
    await createTopicsOnceControllerKnown(admin, {
      topics: [name, `${name}.dlq`].map((topic) => ({ topic, numPartitions: 3, replicationFactor: 3 })),
      waitForLeaders: false,
    });
    await eventually(async () => {
      const metadata = await admin.fetchTopicMetadata({ topics: [name] }).catch(() => undefined);
      const partitions = metadata?.topics[0]?.partitions ?? [];
      return partitions.length === 3 && partitions.every((p) => p.leader >= 0 && p.isr.length === 3) ? true : undefined;
    }, "leaders and full ISR for the new topic");
  } finally {
    await admin.disconnect();
  }
}

/** The outbox rows still unpublished, the topic's end offsets and the effects applied, for a failure message. */
async function whereEventsStopped(topicName: string, groupId: string): Promise<string> {
  const { rows } = await pool.query<{ unpublished: number; quarantined: number }>(
    `SELECT count(*) FILTER (WHERE "published_at" IS NULL)::int AS "unpublished",
            count(*) FILTER (WHERE "quarantined_at" IS NOT NULL)::int AS "quarantined"
       FROM "outbox" WHERE "topic" = $1`,
    [topicName],
  );
  const admin = kafka.admin();
  const ends = await admin
    .connect()
    .then(() => admin.fetchTopicOffsets(topicName))
    .then((offsets) => offsets.map((o) => `p${o.partition}=${o.high}`).join(" "))
    .catch((error: unknown) => `unknown (${error instanceof Error ? error.message : String(error)})`)
    .finally(() => admin.disconnect());
  const applied = (await effects(pool, groupId)).length;
  return `outbox: ${rows[0]?.unpublished} unpublished, ${rows[0]?.quarantined} quarantined; topic ends: ${ends}; effects applied: ${applied}`;
}

describe("outbox relay + idempotent consumer on three brokers, one killed", () => {
  it("delivers every committed event exactly once and in order per key", async () => {
    const topic = newTestTopic("broker-kill");
    await createReplicatedTopic(topic.name);
    const groupId = `broker-kill-${randomUUID()}`;
    const consumer = await startIdempotentConsumer({
      kafka,
      pool,
      groupId,
      topic,
      handle: (event, tx) => recordEffect(groupId, event, tx),
    });
    const relay = await startOutboxRelay({ pool, kafka, producerName: "broker-kill", pollIntervalMs: 200, retryDelayMs: 500 });
    const keys = ["order-a", "order-b", "order-c", "order-d"];
    const eventsPerRound = 20;
    let seq = 0;
    const appendRound = async (): Promise<void> => {
      const round = Array.from({ length: eventsPerRound }, () => {
        seq += 1;
        return { key: keys[seq % keys.length] ?? "order-a", seq };
      });
      await appendCancellations(pool, topic, round);
    };
    try {
      for (let round = 0; round < 5; round += 1) await appendRound();
      await eventually(async () => ((await effects(pool, groupId)).length >= 40 ? true : undefined), "the first effects");

      await cluster.kill(2);
      for (let round = 0; round < 5; round += 1) await appendRound();

      const applied = await eventually(
        async () => {
          const rows = await effects(pool, groupId);
          return rows.length >= seq ? rows : undefined;
        },
        `all ${seq} effects after the broker kill`,
        120_000,
      ).catch(async (error: unknown) => {
        // Once seen failing (2026-12-03, beside another file, not reproduced in four runs since):
        // say where the events stopped — not published, or published and not consumed.
        throw new Error(`${error instanceof Error ? error.message : String(error)}; ${await whereEventsStopped(topic.name, groupId)}`);
      });
      // Exactly once: as many effects as events, no event twice.
      expect(applied).toHaveLength(seq);
      expect(new Set(applied.map((row) => row.event_id)).size).toBe(seq);
      // In order per key: each key's sequence numbers rise in the order they were applied.
      for (const key of keys) {
        const order = applied.filter((row) => row.message_key === key).map((row) => Number(row.note));
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "outbox" WHERE "topic" = $1 AND "published_at" IS NULL`,
        [topic.name],
      );
      expect(rows[0]?.n).toBe(0);
    } finally {
      await relay.stop();
      await consumer.stop();
    }
  }, 240_000);
});
