import type { DescMessage, MessageShape } from "@bufbuild/protobuf";

/**
 * A Kafka topic and the protobuf message types it may carry. Producers can only put these
 * types on it, and consumers decode by the event-type header against this list, so a wrong
 * type is a compile error on one side and a dead letter on the other.
 */
export interface TopicDefinition<Messages extends readonly DescMessage[] = readonly DescMessage[]> {
  /** The topic name, e.g. `orders.v1`. */
  readonly name: string;
  /** The dead-letter topic for consumers of this topic: `<name>.dlq`. */
  readonly deadLetterName: string;
  /** The message types allowed on the topic. */
  readonly messages: Messages;
  /** How the topic is created: declared here, never left to broker defaults. */
  readonly provisioning: TopicProvisioning;
}

/**
 * How many partitions and replicas a topic gets. Partitions bound a consumer group's parallelism
 * (DESIGN.md "Scale") and can only grow, so they are chosen per topic; replication 3 with
 * `min.insync.replicas` 2 lets one broker of three die without losing an acknowledged event.
 */
export interface TopicProvisioning {
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
}

/** The decoded message union of a topic. */
export type TopicMessage<T extends TopicDefinition> = MessageShape<T["messages"][number]>;

/** Declares a topic with the message types it carries and how it is provisioned. */
export function defineTopic<const Messages extends readonly DescMessage[]>(
  name: string,
  messages: Messages,
  provisioning: TopicProvisioning,
): TopicDefinition<Messages> {
  if (!Number.isInteger(provisioning.partitions) || provisioning.partitions < 1) {
    throw new Error(`topic ${name}: partitions must be a whole number ≥ 1`);
  }
  if (provisioning.minInsyncReplicas < 1 || provisioning.minInsyncReplicas > provisioning.replicationFactor) {
    throw new Error(`topic ${name}: min.insync.replicas must be between 1 and the replication factor`);
  }
  return { name, deadLetterName: `${name}.dlq`, messages, provisioning };
}

/** Finds the schema of a message type on a topic by its protobuf full name, if allowed there. */
export function findTopicMessage<T extends TopicDefinition>(
  topic: T,
  typeName: string,
): T["messages"][number] | undefined {
  return topic.messages.find((schema) => schema.typeName === typeName);
}
