/**
 * @tributary/events: how every service publishes and consumes. The envelope (Kafka headers),
 * the transactional outbox and its relay, the idempotent consumer with dead letters, and the
 * tools to list and replay dead letters. Everything not exported here is internal.
 */
export { appendToOutbox, currentSchemaVersion } from "./append-to-outbox.js";
export type { OutboxEvent } from "./append-to-outbox.js";
export { startOutboxRelay } from "./outbox-relay.js";
export type { OutboxRelay, OutboxRelayOptions } from "./outbox-relay.js";
export { startIdempotentConsumer } from "./idempotent-consumer.js";
export type {
  ConsumedEvent,
  ConsumerSettings,
  IdempotentConsumer,
  IdempotentConsumerOptions,
} from "./idempotent-consumer.js";
export { NonRetryableError, isNonRetryableError } from "./non-retryable-error.js";
export {
  envelopeHeaderNames,
  envelopeHeaders,
  kafkaHeadersToRecord,
  parseEnvelope,
  protobufContentType,
} from "./envelope-headers.js";
export type { Envelope, EnvelopeError } from "./envelope-headers.js";
export { deadLetterHeaderNames, isDeadLetterHeader } from "./dead-letter-headers.js";
export { listDeadLetters, replayDeadLetters } from "./dead-letters.js";
export type { DeadLetter, ReplayDeadLettersOptions } from "./dead-letters.js";
export { createIdempotentProducer } from "./idempotent-producer.js";
export { createTopicsOnceControllerKnown, ensureTopics } from "./ensure-topics.js";
export type { EnsureTopicsOptions, EnsureTopicsReport } from "./ensure-topics.js";
export { newEventId } from "./new-event-id.js";
export { listQuarantinedOutboxRows, releaseQuarantinedOutboxRows } from "./outbox-quarantine.js";
export type { QuarantinedOutboxRow, ReleaseQuarantinedOutboxRowsOptions } from "./outbox-quarantine.js";
export { defaultInboxRetentionMs, defaultPublishedRetentionMs, pruneOutboxAndInbox } from "./outbox-retention.js";
export type { OutboxRetention } from "./outbox-retention.js";
export { classifyPublishFailure } from "./publish-refusal.js";
export type { PublishRefusal } from "./publish-refusal.js";
export { discardDeadLetter, listParkedKeys } from "./discard-dead-letter.js";
export type {
  DiscardDeadLetterError,
  DiscardDeadLetterOptions,
  DiscardTarget,
  DiscardedDeadLetter,
  ParkedKey,
} from "./discard-dead-letter.js";
export { MissingRequiredFieldsError, requireFields } from "./require-fields.js";
