/**
 * Vitest global setup for the whole monorepo: one real Kafka broker and one real Postgres for
 * every test file, every service database created fresh with the `_test` suffix and migrated.
 * Tests read them with `testKafkaBrokers()` and `testDatabaseUrl()` from `@tributary/testkit/vitest`.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { databaseUrl, migrateAll } from "@tributary/local-postgres";
import { kafka, type KafkaEndpoint } from "./kafka.js";
import { postgres, type PostgresEndpoint } from "./postgres.js";
import "./provided-context.js";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");
const databaseSuffix = "_test";

let kafkaEndpoint: KafkaEndpoint | undefined;
let postgresEndpoint: PostgresEndpoint | undefined;

export async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  [kafkaEndpoint, postgresEndpoint] = await Promise.all([kafka(), postgres()]);
  const migrated = await migrateAll({
    repoRoot,
    serverUrl: postgresEndpoint.serverUrl,
    databaseSuffix,
    recreate: true,
  });
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
  await Promise.all([kafkaEndpoint?.stop(), postgresEndpoint?.stop()]);
}
