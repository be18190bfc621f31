/**
 * SQLSTATEs that say "this transaction lost a race with another one; run it again":
 * 40001 serialization_failure (SERIALIZABLE / REPEATABLE READ) and 40P01 deadlock_detected.
 * Neither says anything about the input or about the database being down, so they are kept apart
 * from {@link isInfrastructureError} (which the gRPC edge maps to UNAVAILABLE).
 */
const conflictCodes = new Set(["40001", "40P01"]);

/** How far down `cause` / `AggregateError.errors` the classifier looks; real chains are short. */
const maxDepth = 5;

/**
 * Whether an error is a transaction conflict — a serialization failure (40001) or a deadlock
 * (40P01) — also when an adapter wrapped the driver error as `cause`. Postgres' advice for both
 * is to retry the whole transaction; the idempotent consumer retries such events with backoff
 * without counting the attempt, so a conflict never sends a good event to the dead-letter topic.
 */
export function isTransactionConflict(error: unknown, depth = 0): boolean {
  if (typeof error !== "object" || error === null || depth > maxDepth) return false;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string" && conflictCodes.has(code)) return true;
  if (cause !== undefined && cause !== error && isTransactionConflict(cause, depth + 1)) return true;
  return error instanceof AggregateError && Array.isArray(errors) && errors.some((inner) => isTransactionConflict(inner, depth + 1));
}
