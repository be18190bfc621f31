/**
 * Vitest global setup for the whole monorepo: one real Kafka broker and one real Postgres for
 * every test file, every service database created fresh for this run (`<name>_test_<pid>`) and
 * migrated, and dropped again at the end.
 * Tests read them with `testKafkaBrokers()` and `testDatabaseUrl()` from `@tributary/testkit/vitest`.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { databaseUrl, dropDatabase, migrateAll } from "@tributary/local-postgres";
import { kafka, type KafkaEndpoint } from "./kafka.js";
import { postgres, type PostgresEndpoint } from "./postgres.js";
import "./provided-context.js";
import { dropAbandonedTestDatabases, testDatabaseSuffix } from "./test-database-suffix.js";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");
const databaseSuffix = testDatabaseSuffix();

let kafkaEndpoint: KafkaEndpoint | undefined;
let postgresEndpoint: PostgresEndpoint | undefined;
let testDatabases: string[] = [];

export async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  [kafkaEndpoint, postgresEndpoint] = await Promise.all([kafka(), postgres()]);
  await dropAbandonedTestDatabases(postgresEndpoint.serverUrl);
  const migrated = await migrateAll({
    repoRoot,
    serverUrl: postgresEndpoint.serverUrl,
    databaseSuffix,
    recreate: true,
    includeTestOnly: true,
  });
  testDatabases = migrated.map((m) => m.database);
  project.provide("kafkaBrokers", [...kafkaEndpoint.brokers]);
  project.provide("postgresServerUrl", postgresEndpoint.serverUrl);
  project.provide("databaseSuffix", databaseSuffix);
  const databases = migrated.map((m) => m.database).join(", ") || "none";
  console.log(
    `testkit: kafka ${kafkaEndpoint.brokers.join(",")} (${kafkaEndpoint.source}), ` +
      `postgres ${new URL(databaseUrl(postgresEndpoint.serverUrl, "postgres")).host} (${postgresEndpoint.source}), ` +
      `databases ${databases}; ready in ${Date.now() - started} ms`,
  );
}

export async function teardown(): Promise<void> {
  const serverUrl = postgresEndpoint?.serverUrl;
  if (serverUrl !== undefined && process.env["TESTKIT_KEEP_DATABASES"] !== "1") {
    for (const database of testDatabases) await dropDatabase(serverUrl, database);
  }
  await Promise.all([kafkaEndpoint?.stop(), postgresEndpoint?.stop()]);
}
