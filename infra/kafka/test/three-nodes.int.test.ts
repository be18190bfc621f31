import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Kafka, Partitioners, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKafka, type KafkaCluster } from "@tributary/local-kafka";

type Admin = ReturnType<Kafka["admin"]>;
type PartitionMetadata = Awaited<ReturnType<Admin["fetchTopicMetadata"]>>["topics"][number]["partitions"][number];

async function waitForPartitionLeader(admin: Admin, topic: string): Promise<PartitionMetadata> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const partition = metadata.topics[0]?.partitions[0];
      if (partition !== undefined && partition.leader >= 0) return partition;
    } catch (error) {
      if (attempt >= 50) throw error;
    }
    await sleep(200);
  }
}

/**
 * The failure test the services rely on: with replication 3 and min ISR 2, losing one broker
 * of three — the partition leader — loses no acknowledged message and keeps produce and
 * consume working; the node comes back after a restart.
 */
describe("a three-node local Kafka cluster", () => {
  let cluster: KafkaCluster;

  beforeAll(async () => {
    cluster = await startKafka({ nodes: 3 });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it("keeps producing and consuming with acks=all after the leader is killed, and takes it back", async () => {
    expect(cluster.brokers).toHaveLength(3);
    const kafka = new Kafka({
      clientId: "three-nodes-test",
      brokers: [...cluster.brokers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5_000 },
    });
    const topic = `replicated-${randomUUID()}`;
    const admin = kafka.admin();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, maxInFlightRequests: 1 });
    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    try {
      await admin.connect();
      // kafkajs' waitForLeaders gives up on UNKNOWN_TOPIC_OR_PARTITION, which a broker that has
      // not yet replayed the new topic's metadata answers on a 3-node KRaft cluster: poll instead.
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }], waitForLeaders: false });
      const partition = await waitForPartitionLeader(admin, topic);
      expect(partition?.replicas).toHaveLength(3);
      const leader = partition?.leader ?? -1;

      await producer.connect();
      await producer.send({ topic, acks: -1, messages: [{ key: "k", value: "before-kill" }] });

      await cluster.kill(leader);
      expect(cluster.nodes.find((node) => node.nodeId === leader)?.running).toBe(false);

      await producer.send({ topic, acks: -1, messages: [{ key: "k", value: "after-kill" }] });

      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const values: string[] = [];
      const bothSeen = new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            values.push(message.value?.toString() ?? "");
            if (values.length === 2) resolve();
          },
        });
      });
      await bothSeen;
      expect(values).toEqual(["before-kill", "after-kill"]);
      const after = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(after.topics[0]?.partitions[0]?.leader).not.toBe(leader);

      await cluster.restart(leader);
      expect(cluster.nodes.find((node) => node.nodeId === leader)?.running).toBe(true);
      // The revived node catches up and rejoins the in-sync replicas.
      let isr: number[] = [];
      for (let attempt = 0; attempt < 60 && !isr.includes(leader); attempt += 1) {
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
        isr = metadata.topics[0]?.partitions[0]?.isr ?? [];
        if (!isr.includes(leader)) await sleep(1_000);
      }
      expect(isr).toContain(leader);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.disconnect();
    }
  }, 180_000);
});
