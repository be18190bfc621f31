import { inject } from "vitest";
import { databaseUrl } from "@tributary/local-postgres";
import "./provided-context.js";

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
