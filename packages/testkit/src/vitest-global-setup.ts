/**
 * Vitest global setup for the whole monorepo: one real Postgres server, and for each worker slot
 * (integration-workers.ts: files that run side by side) a real Kafka broker of its own and every
 * service database created fresh for this run (`<name>_w<slot>_test_<pid>`) and migrated, dropped
 * again at the end. Tests read them with `testKafkaBrokers()` and `testDatabaseUrl()` from
 * `@tributary/testkit/vitest`, which pick the slot the file runs in.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { databaseUrl, dropDatabase, migrateAll } from "@tributary/local-postgres";
import { integrationWorkers } from "./integration-workers.js";
import { kafka, type KafkaEndpoint } from "./kafka.js";
import { postgres, type PostgresEndpoint } from "./postgres.js";
import "./provided-context.js";
import { dropAbandonedTestDatabases, testDatabaseSuffix } from "./test-database-suffix.js";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");

let kafkaEndpoints: KafkaEndpoint[] = [];
let postgresEndpoint: PostgresEndpoint | undefined;
let testDatabases: string[] = [];

export async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  const slots = integrationWorkers();
  // The first broker alone: on a fresh clone it fetches the jars the others then reuse.
  const [firstKafka, postgresServer] = await Promise.all([kafka(), postgres()]);
  postgresEndpoint = postgresServer;
  kafkaEndpoints = [firstKafka];
  kafkaEndpoints.push(...(await Promise.all(Array.from({ length: slots - 1 }, () => kafka()))));
  await dropAbandonedTestDatabases(postgresServer.serverUrl);
  const databaseSuffixes = Array.from({ length: slots }, (_, slot) => slotDatabaseSuffix(slot));
  const migrated = (
    await Promise.all(
      databaseSuffixes.map((databaseSuffix) =>
        migrateAll({ repoRoot, serverUrl: postgresServer.serverUrl, databaseSuffix, recreate: true, includeTestOnly: true }),
      ),
    )
  ).flat();
  testDatabases = migrated.map((m) => m.database);
  project.provide("kafkaBrokersBySlot", kafkaEndpoints.map((endpoint) => [...endpoint.brokers]));
  project.provide("postgresServerUrl", postgresServer.serverUrl);
  project.provide("databaseSuffixBySlot", databaseSuffixes);
  project.provide("slotLockKey", process.pid);
  console.log(
    `testkit: ${slots} worker slot(s); kafka ${kafkaEndpoints.map((e) => `${e.brokers.join(",")} (${e.source})`).join(", ")}, ` +
      `postgres ${new URL(databaseUrl(postgresServer.serverUrl, "postgres")).host} (${postgresServer.source}), ` +
      `databases ${migrated.length} (${databaseSuffixes.map((s) => `*${s}`).join(", ")}); ready in ${Date.now() - started} ms`,
  );
}

/** `_w<slot>_test_<pid>`: ends like every test database, so a crashed run's are dropped next time. */
function slotDatabaseSuffix(slot: number): string {
  return `_w${slot + 1}${testDatabaseSuffix()}`;
}

export async function teardown(): Promise<void> {
  const serverUrl = postgresEndpoint?.serverUrl;
  if (serverUrl !== undefined && process.env["TESTKIT_KEEP_DATABASES"] !== "1") {
    for (const database of testDatabases) await dropDatabase(serverUrl, database);
  }
  await Promise.all([...kafkaEndpoints.map((endpoint) => endpoint.stop()), postgresEndpoint?.stop()]);
}
