import pg from "pg";

/**
 * Connects once to `url` and runs `SELECT 1`. Resolves to `undefined` when the server answered,
 * or to why it did not (the driver's message; for an AggregateError from Happy Eyeballs, its first
 * inner error's). Callers word the error for their audience: the service kit names the setting
 * and what to do, the testkit names the test variable.
 */
export async function probePostgres(url: string, timeoutMs = 5_000): Promise<{ readonly reason: string; readonly cause: unknown } | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (cause) {
    return { reason: reasonOf(cause), cause };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function reasonOf(cause: unknown): string {
  if (cause instanceof AggregateError && cause.errors.length > 0) return reasonOf(cause.errors[0]);
  return cause instanceof Error ? cause.message : String(cause);
}
