import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import pg from "pg";
import { databaseUrl, ensureDatabase, findServiceDatabases, migrateServiceDatabase } from "@tributary/local-postgres";
import { workerSlot } from "./integration-workers.js";
import "./provided-context.js";

export { startGroupAtTopicEnd, type GroupOffsetsAdmin } from "./kafka-group-offsets.js";
export { prometheusSample, prometheusSamples } from "./prometheus-samples.js";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");

/**
 * Bootstrap servers of the real broker the global setup started for this file's worker slot (or
 * `KAFKA_BROKERS`): no file that runs at the same time uses it.
 */
export function testKafkaBrokers(): string[] {
  const bySlot = inject("kafkaBrokersBySlot");
  return [...(bySlot[workerSlot(bySlot.length)] ?? [])];
}

/** This file's worker slot's database-name suffix, `_w<slot>_test_<pid>`. */
function testDatabaseSuffixOfSlot(): string {
  const bySlot = inject("databaseSuffixBySlot");
  const suffix = bySlot[workerSlot(bySlot.length)];
  if (suffix === undefined) throw new Error("testkit: the global setup provided no test databases");
  return suffix;
}

/**
 * URL of a service's test database, e.g. `testDatabaseUrl("tributary_order")` →
 * `…/tributary_order_w1_test_<pid>`, created and migrated for this run by the global setup, used
 * by no file that runs at the same time.
 */
export function testDatabaseUrl(database: string): string {
  return databaseUrl(inject("postgresServerUrl"), `${database}${testDatabaseSuffixOfSlot()}`);
}

/** Admin URL of the test Postgres server, for tests that make their own scratch databases. */
export function testPostgresServerUrl(): string {
  return inject("postgresServerUrl");
}

let freshDatabases = 0;

/**
 * A database of its own for one test file: created on the test server and migrated like
 * `database`'s test database, named `<database>_f<n><random>_test_<pid>` so a crashed run's copy
 * is dropped like the rest. For tests that start a service whose workers claim any due row in
 * their database: on the shared test database they would also work the rows earlier files left
 * behind (against a sandbox that no longer knows them), which made timing tests fail under the
 * full suite. Drop it when the file is done.
 */
export async function freshTestDatabase(database: string): Promise<{ readonly url: string; drop(): Promise<void> }> {
  const service = (await findServiceDatabases(repoRoot)).find((s) => s.database === database);
  if (service === undefined) throw new Error(`freshTestDatabase: no workspace declares the database ${database}`);
  freshDatabases += 1;
  const name = `${database}_f${freshDatabases}${Math.random().toString(36).slice(2, 6)}${testDatabaseSuffixOfSlot()}`;
  const serverUrl = inject("postgresServerUrl");
  await ensureDatabase(serverUrl, name);
  const url = databaseUrl(serverUrl, name);
  await migrateServiceDatabase(url, service);
  return { url, drop: () => dropWhenUnused(serverUrl, name) };
}

/** Postgres SQLSTATE for DROP DATABASE while sessions use it. */
const objectInUse = "55006";

/**
 * Drops a fresh database once nothing uses it any more. Not `WITH (FORCE)`: killing a session a
 * stopped service still holds makes its pool emit an error nobody listens to any more, which
 * vitest reports as an unhandled error of the file. A database still in use after ten seconds is
 * left for the next run's clean-up of abandoned test databases (its name ends `_test_<pid>`).
 */
async function dropWhenUnused(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}"`);
        return;
      } catch (error) {
        if ((error as { code?: unknown }).code !== objectInUse) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    console.warn(`testkit: ${name} is still in use 10 s after its test file; left for the next run's clean-up`);
  } finally {
    await client.end();
  }
}
