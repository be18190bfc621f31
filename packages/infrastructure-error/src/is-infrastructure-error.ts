/**
 * Thrown by code that knows, where the failure happens, that a dependency is unavailable (a
 * Temporal-style "retryable is a property of the error"): an adapter that gives up waiting for a
 * broker, a pool that is shutting down. {@link isInfrastructureError} recognises it, and anything
 * that carries it as `cause`, without guessing from driver codes.
 */
export class InfrastructureError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InfrastructureError";
  }
}

const socketCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

// kafkajs's own errors for "cannot reach the broker"; a retried one arrives wrapped in
// KafkaJSNumberOfRetriesExceeded, whose `cause` is one of these.
const kafkaUnavailableNames = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSBrokerNotFound",
]);

// pg's messages for a lost or never-made connection (they carry no SQLSTATE).
const pgUnavailableMessage = /Connection terminated|not queryable|timeout exceeded when trying to connect/i;

/** How far down `cause` / `AggregateError.errors` the classifier looks; real chains are short. */
const maxDepth = 5;

function isUnavailableItself(error: object): boolean {
  if (error instanceof InfrastructureError || (error instanceof Error && error.name === "InfrastructureError")) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    // SQLSTATE class 08 (connection exception), 53 (insufficient resources),
    // 57P01–57P04 (admin shutdown, crash shutdown, cannot connect now, database dropped).
    if (/^(08|53)[0-9A-Z]{3}$/.test(code) || /^57P0[1-4]$/.test(code)) return true;
    if (socketCodes.has(code)) return true;
  }
  if (error instanceof Error) {
    if (kafkaUnavailableNames.has(error.name)) return true;
    if (pgUnavailableMessage.test(error.message)) return true;
  }
  return false;
}

/**
 * Whether an error says a dependency (the database, the broker, the network to them) is
 * unavailable rather than that this request or message is bad: an {@link InfrastructureError};
 * SQLSTATE class 08, class 53 or 57P01–57P04; a socket-level failure (`ECONNREFUSED`,
 * `ECONNRESET`, …); pg's "Connection terminated" / "timeout exceeded when trying to connect";
 * kafkajs's connection and request-timeout errors. It also looks through `cause` and
 * `AggregateError.errors`, so an adapter that wraps a driver error keeps the classification.
 * Such failures are worth retrying later; they say nothing about the input.
 */
export function isInfrastructureError(error: unknown, depth = 0): boolean {
  if (typeof error !== "object" || error === null || depth > maxDepth) return false;
  if (isUnavailableItself(error)) return true;
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  if (cause !== undefined && cause !== error && isInfrastructureError(cause, depth + 1)) return true;
  return error instanceof AggregateError && Array.isArray(errors) && errors.some((inner) => isInfrastructureError(inner, depth + 1));
}
