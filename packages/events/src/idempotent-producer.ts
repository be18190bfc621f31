import { Partitioners, type Kafka, type Producer } from "kafkajs";

/**
 * The only way we produce: kafkajs' idempotent producer (acks=all is implied and enforced by
 * `sendBatch({ acks: -1 })` at the call sites) with one request in flight, because kafkajs'
 * idempotence is not safe with more (kafkajs #598, #980). The partitioner is chosen explicitly:
 * the Java-compatible murmur2 one, so a key lands on the same partition whoever produces it.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
}
