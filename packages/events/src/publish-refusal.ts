import { isInfrastructureError } from "@tributary/infrastructure-error";

/** Why the broker refused an outbox row for good; the relay quarantines the row with it. */
export interface PublishRefusal {
  readonly code: "message_too_large" | "invalid_record" | "invalid_topic" | "unknown_topic";
  /** Human-readable, stored in `outbox.quarantine_reason`. */
  readonly reason: string;
}

// Kafka protocol errors that are about the record itself: sending it again, to any broker, later,
// gets the same answer. (kafkajs marks them non-retriable and bails out of its retries.)
const permanentTypes: ReadonlyMap<string, PublishRefusal["code"]> = new Map([
  ["MESSAGE_TOO_LARGE", "message_too_large"],
  ["RECORD_LIST_TOO_LARGE", "message_too_large"],
  ["INVALID_RECORD", "invalid_record"],
  ["INVALID_TOPIC_EXCEPTION", "invalid_topic"],
]);

/** How far down `cause` the classifier looks; kafkajs wraps at most twice. */
const maxDepth = 5;

function protocolErrorType(error: unknown, depth: number): { type: string; message: string } | undefined {
  if (typeof error !== "object" || error === null || depth > maxDepth) return undefined;
  const { type, message, cause } = error as { type?: unknown; message?: unknown; cause?: unknown };
  if (typeof type === "string" && permanentTypes.has(type)) return { type, message: typeof message === "string" ? message : type };
  return cause === error ? undefined : protocolErrorType(cause, depth + 1);
}

/**
 * Decides, where a send failed, whether the broker refused the rows for good (a value the relay
 * quarantines) or the failure is transient (`undefined`: retry, however long it takes). Transient
 * wins whenever the error says a dependency is down ({@link isInfrastructureError}): a broker that
 * is away never gets a row quarantined. Permanent are the protocol errors about the record itself
 * — `MESSAGE_TOO_LARGE`, `RECORD_LIST_TOO_LARGE`, `INVALID_RECORD`, `INVALID_TOPIC_EXCEPTION` —
 * also when kafkajs wrapped them in `KafkaJSNumberOfRetriesExceeded`. Anything else is transient,
 * so an error we do not know blocks (and is logged) rather than losing an event to quarantine.
 * An unknown topic is decided by the relay itself, from the broker's topic list, because kafkajs's
 * idempotent producer retries `UNKNOWN_TOPIC_OR_PARTITION` forever; see {@link unknownTopicRefusal}.
 */
export function classifyPublishFailure(error: unknown): PublishRefusal | undefined {
  if (isInfrastructureError(error)) return undefined;
  const found = protocolErrorType(error, 0);
  if (found === undefined) return undefined;
  const code = permanentTypes.get(found.type);
  return code === undefined ? undefined : { code, reason: `${found.type}: ${found.message}` };
}

/** The refusal of a row whose topic the broker does not list (and the producer may not create). */
export function unknownTopicRefusal(topic: string): PublishRefusal {
  return { code: "unknown_topic", reason: `UNKNOWN_TOPIC_OR_PARTITION: the broker has no topic ${topic}` };
}
