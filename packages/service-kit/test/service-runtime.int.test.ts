/**
 * The service kit on the real broker and Postgres: start-up checks its dependencies and names the
 * setting when one is unreachable, topics get the partitions and min ISR the registry declares,
 * readiness follows start-up and shutdown, and parts stop in reverse start order.
 */
import { randomUUID } from "node:crypto";
import { defineTopic } from "@tributary/contracts";
import { OrderCancelledSchema } from "@tributary/contracts/order/v1/order_events";
import { testDatabaseUrl, testKafkaBrokers } from "@tributary/testkit/vitest";
import { ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DependencyUnavailableError, startServiceRuntime, type ServiceRuntime } from "../src/index.js";

const topic = defineTopic(`kit-test.${randomUUID().slice(0, 8)}`, [OrderCancelledSchema], {
  partitions: 5,
  replicationFactor: 3,
  minInsyncReplicas: 2,
});

async function httpStatus(address: string, path: string): Promise<number> {
  return (await fetch(`http://${address}${path}`)).status;
}

describe("startServiceRuntime", () => {
  let runtime: ServiceRuntime;
  const stopped: string[] = [];

  beforeAll(async () => {
    runtime = await startServiceRuntime({
      name: "kit-test",
      databaseUrl: testDatabaseUrl("tributary_events"),
      kafka: { brokers: testKafkaBrokers() },
      topics: [topic],
      healthAddress: "127.0.0.1:0",
    });
  });

  afterAll(async () => {
    await runtime.stop();
  });

  it("provisions each topic and its DLQ as declared, replication lowered to the cluster's one broker", async () => {
    const admin = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic.name, topic.deadLetterName] });
      expect(metadata.topics.map((t) => t.partitions.length)).toEqual([5, 5]);
      expect(metadata.topics[0]?.partitions[0]?.replicas.length).toBe(1);
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic.name, configNames: ["min.insync.replicas"] }],
      });
      expect(configs.resources[0]?.configEntries[0]?.configValue).toBe("1");
    } finally {
      await admin.disconnect();
    }
  });

  it("is live at once, ready only after markReady, and stops its parts in reverse order", async () => {
    const health = runtime.healthAddress;
    if (health === undefined) throw new Error("no health address");
    expect(await httpStatus(health, "/livez")).toBe(200);
    expect(await httpStatus(health, "/readyz")).toBe(503);
    await runtime.startRelay();
    await runtime.start("first", async () => ({ stop: async () => void stopped.push("first") }));
    await runtime.start("second", async () => ({ stop: async () => void stopped.push("second") }));
    runtime.markReady();
    expect(await httpStatus(health, "/readyz")).toBe(200);
    const body = (await (await fetch(`http://${health}/readyz`)).json()) as { checks: { name: string; ok: boolean }[] };
    expect(body.checks).toEqual([{ name: "postgres", ok: true }]);
    await runtime.stop();
    expect(stopped).toEqual(["second", "first"]);
    // The health endpoint itself has stopped (it started before the relay and the parts).
    await expect(fetch(`http://${health}/livez`)).rejects.toThrow();
  });
});

describe("unreachable dependencies", () => {
  it("names Postgres and the setting", async () => {
    const error = await startServiceRuntime({
      name: "kit-test",
      databaseUrl: "postgresql://postgres@127.0.0.1:1/nothing",
      databaseSetting: "KIT_DATABASE_URL",
      kafka: { brokers: testKafkaBrokers() },
      topics: [],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as DependencyUnavailableError).dependency).toBe("postgres");
    expect((error as Error).message).toMatch(/^cannot reach Postgres at 127\.0\.0\.1:1, database nothing \(.*ECONNREFUSED.*; from KIT_DATABASE_URL\): start Postgres/);
  });

  it("names Kafka and the setting", async () => {
    const error = await startServiceRuntime({
      name: "kit-test",
      databaseUrl: testDatabaseUrl("tributary_events"),
      kafka: { brokers: ["127.0.0.1:1"] },
      topics: [],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as DependencyUnavailableError).dependency).toBe("kafka");
    expect((error as Error).message).toMatch(/^cannot reach Kafka at 127\.0\.0\.1:1 \(.*; from KAFKA_BROKERS\): start the broker/);
  });
});
