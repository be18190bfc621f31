import pg from "pg";

/** Postgres SQLSTATE for CREATE DATABASE on a name that exists. */
const duplicateDatabase = "42P04";

/**
 * Creates a database on the server if it is not there yet; returns whether it created it.
 * Safe to call concurrently and repeatedly.
 */
export async function ensureDatabase(serverUrl: string, name: string): Promise<boolean> {
  assertDatabaseName(name);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount !== 0) return false;
    await client.query(`CREATE DATABASE "${name}"`);
    return true;
  } catch (error) {
    if (isPgError(error) && error.code === duplicateDatabase) return false;
    throw error;
  } finally {
    await client.end();
  }
}

/** Drops a database (terminating its connections), for test runs that start clean. */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  assertDatabaseName(name);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** The URL of database `name` on the server that `serverUrl` points at. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function assertDatabaseName(name: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`refusing database name ${JSON.stringify(name)}: use lower-case letters, digits and _`);
  }
}

function isPgError(error: unknown): error is { code: string } {
  return typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string";
}
