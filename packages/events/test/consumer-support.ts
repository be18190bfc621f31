/**
 * Helpers shared by the consumer tests: events as they travel (envelope headers + protobuf bytes),
 * producing them, and waiting until a group has committed the end of a topic.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { OrderCancelledSchema } from "@tributary/contracts/order/v1/order_events";
import type { IHeaders, Kafka, Producer } from "kafkajs";
import { envelopeHeaders, newEventId, protobufContentType } from "../src/index.js";
import { eventually, type TestTopic } from "./support.js";

/** A message as the tests produce it. */
export interface TestMessage {
  readonly key: string | null;
  readonly value: Buffer;
  readonly headers: IHeaders;
  readonly eventId: string;
}

/** An `OrderCancelled` for `key` whose `reason` is `reason` (the effect's note). */
export function cancellation(key: string, reason: string, eventId = newEventId()): TestMessage {
  const headers = envelopeHeaders({
    eventId,
    eventType: OrderCancelledSchema.typeName,
    schemaVersion: "1",
    producer: "events-test",
    occurredAt: new Date(),
    contentType: protobufContentType,
  });
  const value = Buffer.from(toBinary(OrderCancelledSchema, create(OrderCancelledSchema, { orderId: key, reason })));
  return { key, value, headers, eventId };
}

export async function produce(producer: Producer, topic: TestTopic, messages: readonly TestMessage[]): Promise<void> {
  await producer.sendBatch({
    acks: -1,
    topicMessages: [{ topic: topic.name, messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) }],
  });
}

/** Waits until the group has committed offsets up to the end of every partition of the topic. */
export async function caughtUp(kafka: Kafka, groupId: string, topic: TestTopic): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await eventually(async () => {
      const ends = await admin.fetchTopicOffsets(topic.name);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic.name] });
      const done = ends.every((end) => {
        const at = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? "-1";
        return end.high === end.low || at === end.high;
      });
      return done ? true : undefined;
    }, `group ${groupId} to commit the end of ${topic.name}`);
  } finally {
    await admin.disconnect();
  }
}
