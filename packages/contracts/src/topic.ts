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
}

/** The decoded message union of a topic. */
export type TopicMessage<T extends TopicDefinition> = MessageShape<T["messages"][number]>;

/** Declares a topic with the message types it carries. */
export function defineTopic<const Messages extends readonly DescMessage[]>(
  name: string,
  messages: Messages,
): TopicDefinition<Messages> {
  return { name, deadLetterName: `${name}.dlq`, messages };
}

/** Finds the schema of a message type on a topic by its protobuf full name, if allowed there. */
export function findTopicMessage<T extends TopicDefinition>(
  topic: T,
  typeName: string,
): T["messages"][number] | undefined {
  return topic.messages.find((schema) => schema.typeName === typeName);
}
