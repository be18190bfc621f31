import type { Pool, PoolClient } from "pg";

/**
 * Runs `work` in one Postgres transaction on a pooled connection: COMMIT when it returns,
 * ROLLBACK when it throws (and the error goes on). Use cases return expected failures as values
 * and write nothing before they know they succeed, so committing after an `err` is harmless.
 * A connection whose ROLLBACK failed is discarded, never handed to the next caller mid-transaction.
 */
export async function inTransaction<T>(pool: Pool, work: (tx: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}
