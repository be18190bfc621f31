import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import { databaseUrl, dropDatabase, ensureDatabase, findServiceDatabases, migrateServiceDatabase } from "@tributary/local-postgres";
import "./provided-context.js";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");

/** Bootstrap servers of the real broker the global setup started (or `KAFKA_BROKERS`). */
export function testKafkaBrokers(): string[] {
  return inject("kafkaBrokers");
}

/**
 * URL of a service's test database, e.g. `testDatabaseUrl("tributary_order")` →
 * `…/tributary_order_test_<pid>`, created and migrated for this run by the global setup.
 */
export function testDatabaseUrl(database: string): string {
  return databaseUrl(inject("postgresServerUrl"), `${database}${inject("databaseSuffix")}`);
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
  const name = `${database}_f${freshDatabases}${Math.random().toString(36).slice(2, 6)}${inject("databaseSuffix")}`;
  const serverUrl = inject("postgresServerUrl");
  await ensureDatabase(serverUrl, name);
  const url = databaseUrl(serverUrl, name);
  await migrateServiceDatabase(url, service);
  return { url, drop: () => dropDatabase(serverUrl, name) };
}
