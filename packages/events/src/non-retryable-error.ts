/**
 * Thrown by a handler for input that will never succeed (a broken invariant in the event, a
 * reference that cannot exist). The consumer does not retry it: the message goes straight to
 * `<topic>.dlq` with this error's message as the reason, and the partition moves on.
 * Anything else a handler throws is treated as transient and retried with backoff.
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NonRetryableError";
  }
}

/** Whether an error says "do not retry", also across realms and bundles (by name). */
export function isNonRetryableError(error: unknown): boolean {
  return error instanceof NonRetryableError || (error instanceof Error && error.name === "NonRetryableError");
}
