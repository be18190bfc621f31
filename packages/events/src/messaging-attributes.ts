/**
 * OpenTelemetry messaging semantic-convention attribute names (semconv 1.3x, "messaging" and
 * "messaging.kafka"), spelled once here. They live in the incubating entry of
 * `@opentelemetry/semantic-conventions`, whose names may still change; a string table keeps
 * that churn out of the code.
 */
export const messagingAttributes = {
  system: "messaging.system",
  destinationName: "messaging.destination.name",
  operationType: "messaging.operation.type",
  operationName: "messaging.operation.name",
  messageId: "messaging.message.id",
  batchMessageCount: "messaging.batch.message_count",
  consumerGroupName: "messaging.consumer.group.name",
  partitionId: "messaging.destination.partition.id",
  kafkaMessageKey: "messaging.kafka.message.key",
  kafkaOffset: "messaging.kafka.offset",
} as const;
