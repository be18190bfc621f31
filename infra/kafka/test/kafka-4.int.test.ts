import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKafka, type KafkaCluster } from "@tributary/local-kafka";
import { kafkajsRoundTrip } from "./kafkajs-round-trip.js";

/** Kafka 4.x dropped old protocol versions (KIP-896) and has a new group coordinator; kafkajs 2.2.4 was never tested past 2.4 upstream. */
describe("a single local Kafka 4.1 node", () => {
  let cluster: KafkaCluster;

  beforeAll(async () => {
    cluster = await startKafka({ version: "4.1.2" });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("takes a message with headers from kafkajs 2.2.4 and gives it back to a consumer group", async () => {
    const got = await kafkajsRoundTrip(cluster.brokers);
    expect(cluster.version).toBe("4.1.2");
    expect(got).toEqual({
      key: "order-1",
      value: "OrderPlaced",
      headers: { traceparent: "00-abc-def-01", "content-type": "application/x-protobuf" },
      groupJoined: true,
    });
  });
});
