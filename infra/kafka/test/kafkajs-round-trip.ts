import { randomUUID } from "node:crypto";
import { Kafka, Partitioners, logLevel, type KafkaMessage } from "kafkajs";

/** What came back from the broker, for the test to assert on. */
export type RoundTrip = {
  readonly value: string | undefined;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly groupJoined: boolean;
};

/**
 * Produces one message with headers through kafkajs 2.2.4 and reads it back with a consumer
 * group, the way the services will: admin creates the topic, the producer waits for acks=all,
 * and the consumer joins a group before it receives anything.
 */
export async function kafkajsRoundTrip(brokers: readonly string[]): Promise<RoundTrip> {
  const kafka = new Kafka({ clientId: "local-kafka-test", brokers: [...brokers], logLevel: logLevel.ERROR });
  const topic = `round-trip-${randomUUID()}`;
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  let groupJoined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    groupJoined = true;
  });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: "order-1", value: "OrderPlaced", headers: { traceparent: "00-abc-def-01", "content-type": "application/x-protobuf" } }],
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = new Promise<KafkaMessage>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          resolve(message);
        },
      });
    });
    const message = await received;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (value !== undefined) headers[name] = value.toString();
    }
    return { value: message.value?.toString(), key: message.key?.toString(), headers, groupJoined };
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.disconnect();
  }
}
