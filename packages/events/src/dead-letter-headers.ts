/**
 * Headers the consumer adds to a dead letter, next to the original message's own headers, key
 * and bytes (which are copied untouched so a replay republishes exactly what was received).
 */
export const deadLetterHeaderNames = {
  reason: "dlq-reason",
  consumerGroup: "dlq-consumer-group",
  attempts: "dlq-attempts",
  originalTopic: "dlq-original-topic",
  originalPartition: "dlq-original-partition",
  originalOffset: "dlq-original-offset",
  failedAt: "dlq-failed-at",
} as const;

/** Whether a header name is one the dead-letter path added (a replay strips them). */
export function isDeadLetterHeader(name: string): boolean {
  return name.startsWith("dlq-");
}
