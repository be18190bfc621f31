/**
 * Whether an error says the database (or the network to it) is unavailable rather than that this
 * message is bad: SQLSTATE class 08 (connection exception), 53 (insufficient resources),
 * 57P0x (admin/crash shutdown, cannot connect now), or a socket-level failure. The consumer never
 * dead-letters a message for such an error: it gives the batch back to kafkajs unresolved, so the
 * message is retried when the database is back instead of being parked in the DLQ.
 */
export function isInfrastructureError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (/^(08|53)[0-9A-Z]{3}$/.test(code) || /^57P0[1-4]$/.test(code)) return true;
    if (["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH"].includes(code)) return true;
  }
  const message = error instanceof Error ? error.message : "";
  return /Connection terminated|not queryable|timeout exceeded when trying to connect/i.test(message);
}
