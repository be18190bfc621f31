import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKafka, type KafkaCluster, LocalKafkaError } from "@tributary/local-kafka";
import { kafkajsRoundTrip } from "./kafkajs-round-trip.js";

describe("a single local Kafka node (default version)", () => {
  let cluster: KafkaCluster;

  beforeAll(async () => {
    cluster = await startKafka();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("is one running node with a loopback bootstrap address", () => {
    expect(cluster.brokers).toHaveLength(1);
    expect(cluster.brokers[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(cluster.nodes[0]?.running).toBe(true);
  });

  it("takes a message with headers from kafkajs and gives it back to a consumer group", async () => {
    const got = await kafkajsRoundTrip(cluster.brokers);
    expect(got).toEqual({
      key: "order-1",
      value: "OrderPlaced",
      headers: { traceparent: "00-abc-def-01", "content-type": "application/x-protobuf" },
      groupJoined: true,
    });
  });

  it("stops its JVM on stop(), and a second stop() is a no-op", async () => {
    const pid = cluster.nodes[0]?.pid;
    expect(pid).toBeGreaterThan(0);
    await Promise.all([cluster.stop(), cluster.stop()]);
    await cluster.stop();
    expect(cluster.nodes[0]?.running).toBe(false);
    expect(() => process.kill(pid ?? 0, 0)).toThrow();
  });
});

describe("startKafka failures", () => {
  it("says invalid_override, naming the key, when the broker rejects an override's value", async () => {
    const error = await startKafka({ overrides: { "num.partitions": "abc" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalKafkaError);
    expect((error as LocalKafkaError).code).toBe("invalid_override");
    expect((error as LocalKafkaError).message).toContain("num.partitions");
    expect((error as LocalKafkaError).message).toContain("Invalid value abc");
  });

  it("says invalid_override for a key that is not a config name, before any JVM starts", async () => {
    const error = await startKafka({ overrides: { "num partitions": "3" } }).catch((e: unknown) => e);
    expect((error as LocalKafkaError).code).toBe("invalid_override");
  });

  it("says port_in_use when the fixed broker port is taken", async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      const error = await startKafka({ ports: { brokers: [port] } }).catch((e: unknown) => e);
      expect((error as LocalKafkaError).code).toBe("port_in_use");
      expect((error as LocalKafkaError).message).toContain(`127.0.0.1:${port}`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("says broker_exited with the JVM's own error line when the broker dies before it is ready", async () => {
    // A failed node's folder is kept for its log, so give it one this test removes.
    const dataDir = await mkdtemp(join(tmpdir(), "local-kafka-test-"));
    try {
      const error = await startKafka({ dataDir, jvmOptions: ["-XX:+NoSuchTributaryFlag"] }).catch((e: unknown) => e);
      expect((error as LocalKafkaError).code).toBe("broker_exited");
      expect((error as LocalKafkaError).message).toContain("Unrecognized VM option 'NoSuchTributaryFlag'");
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("says java_not_found with what to install when java is missing", async () => {
    const error = await startKafka({ javaPath: "/nonexistent/bin/java" }).catch((e: unknown) => e);
    expect((error as LocalKafkaError).code).toBe("java_not_found");
    expect((error as LocalKafkaError).message).toContain("openjdk-17-jre-headless");
    expect((error as LocalKafkaError).message).toContain("KAFKA_BROKERS");
  });
});
