import { ordersTopic } from "@tributary/contracts";
import type { Admin, ITopicConfig, Kafka } from "kafkajs";
import { describe, expect, it } from "vitest";
import { ensureTopics } from "./ensure-topics.js";

/** An error named as kafkajs names it when the cluster's metadata gives controller id -1. */
function brokerNotFound(): Error {
  const error = new Error("Broker -1 not found in the cached metadata");
  error.name = "KafkaJSBrokerNotFound";
  return error;
}

/**
 * The admin calls ensureTopics makes, answered as a just-started cluster answers them: the first
 * `failures` createTopics calls fail with `failWith` before anything is created. (The real broker
 * paths are in the integration tests; this is the retry decision alone.)
 */
function clusterAdmin(failures: number, failWith: () => Error = brokerNotFound): { kafka: Kafka; created: ITopicConfig[][]; attempts: () => number } {
  let attempts = 0;
  const created: ITopicConfig[][] = [];
  const admin: Partial<Admin> = {
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    listTopics: () => Promise.resolve([]),
    describeCluster: () => Promise.resolve({ brokers: [{ nodeId: 1, host: "h1", port: 1 }, { nodeId: 2, host: "h2", port: 2 }, { nodeId: 3, host: "h3", port: 3 }], controller: null, clusterId: "c" }),
    createTopics: ({ topics }) => {
      attempts += 1;
      if (attempts <= failures) return Promise.reject(failWith());
      created.push(topics);
      return Promise.resolve(true);
    },
  };
  return { kafka: { admin: () => admin as Admin } as unknown as Kafka, created, attempts: () => attempts };
}

describe("ensureTopics on a cluster that names no controller yet", () => {
  it("asks again until it does, then creates the topic and its DLQ as declared", async () => {
    const cluster = clusterAdmin(3);
    const report = await ensureTopics(cluster.kafka, [ordersTopic]);
    expect(cluster.attempts()).toBe(4);
    expect(report.created).toEqual([ordersTopic.name, ordersTopic.deadLetterName]);
    expect(cluster.created).toHaveLength(1);
    expect(cluster.created[0]?.map((t) => [t.topic, t.numPartitions, t.replicationFactor])).toEqual([
      [ordersTopic.name, ordersTopic.provisioning.partitions, 3],
      [ordersTopic.deadLetterName, ordersTopic.provisioning.partitions, 3],
    ]);
  });

  it("gives up after controllerWaitMs with an error that says what is wrong", async () => {
    const cluster = clusterAdmin(Number.POSITIVE_INFINITY);
    await expect(ensureTopics(cluster.kafka, [ordersTopic], { controllerWaitMs: 600 })).rejects.toThrow(/named no controller within 600 ms.*quorum/);
    expect(cluster.attempts()).toBeGreaterThan(1);
  });

  it("does not retry any other error", async () => {
    const cluster = clusterAdmin(1, () => new Error("Topic authorization failed"));
    await expect(ensureTopics(cluster.kafka, [ordersTopic])).rejects.toThrow("Topic authorization failed");
    expect(cluster.attempts()).toBe(1);
  });
});
