import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { ordersInboundTopic, findTopicMessage } from "@tributary/contracts";
import { OrderPlacedSchema } from "@tributary/contracts/order/v1/order_events";
import { Channel, Provider } from "@tributary/contracts/common/v1/provider";
import { testKafkaBrokers } from "@tributary/testkit/vitest";

describe("a contracts event through a real Kafka broker", () => {
  const kafka = new Kafka({ clientId: "contracts-roundtrip", brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING });
  const topic = `${ordersInboundTopic.name}.roundtrip-${Date.now()}`;
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: `roundtrip-${Date.now()}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });

  afterAll(async () => {
    await Promise.all([producer.disconnect(), consumer.disconnect(), admin.disconnect()]);
  });

  it("keeps the protobuf payload, the key and every header", async () => {
    const placed = create(OrderPlacedSchema, {
      merchantId: "m-1",
      merchantOrderRef: "ref-42",
      buyer: { buyerId: "b-7", country: "CN" },
      lines: [{ sku: "tea-001", category: "grocery", quantity: 3n, unitPrice: { currency: "CNY", amountMinor: 129_902n } }],
      total: { currency: "CNY", amountMinor: 389_706n },
      channel: Channel.MINI_PROGRAM,
      preferredProvider: Provider.WECHAT_PAY,
    });
    const headers = {
      "event-id": "01936f5e-7b7a-7c3e-9a5e-3f1f2c9d0e11",
      "event-type": OrderPlacedSchema.typeName,
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    };
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: "m-1/ref-42", value: Buffer.from(toBinary(OrderPlacedSchema, placed)), headers }],
    });

    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<{ key: string; value: Buffer; headers: Record<string, string> }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const plainHeaders = Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
          );
          resolve({ key: String(message.key), value: message.value ?? Buffer.alloc(0), headers: plainHeaders });
        },
      });
    });

    expect(received.key).toBe("m-1/ref-42");
    expect(received.headers).toEqual(headers);
    const schema = findTopicMessage(ordersInboundTopic, received.headers["event-type"] ?? "");
    expect(schema?.typeName).toBe("tributary.order.v1.OrderPlaced");
    const decoded = fromBinary(OrderPlacedSchema, received.value);
    expect(decoded).toEqual(placed);
    expect(decoded.lines[0]?.unitPrice?.amountMinor).toBe(129_902n);
  });
});
