/**
 * The main job, end to end on one machine: a real Kafka broker (or KAFKA_BROKERS), every
 * service database created and migrated on the Postgres server (POSTGRES_URL, default
 * 127.0.0.1:5432), every topic of DESIGN.md and its dead-letter topic created, then a status
 * report. It stays up until Ctrl-C; `--exit` stops after the report.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { allTopics } from "@tributary/contracts";
import { startKafka } from "@tributary/local-kafka";
import { migrateAll, postgresServerUrl } from "@tributary/local-postgres";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../..");

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { exit: { type: "boolean" } } });
  const started = Date.now();
  const stops: Array<() => Promise<void>> = [];

  const existing = process.env["KAFKA_BROKERS"];
  let brokers: string[];
  if (existing !== undefined && existing !== "") {
    brokers = existing.split(",");
  } else {
    const cluster = await startKafka({ nodes: 1, dataDir: resolve(repoRoot, ".tributary/kafka") });
    brokers = [...cluster.brokers];
    stops.push(() => cluster.stop());
  }

  const migrated = await migrateAll({ repoRoot, serverUrl: postgresServerUrl(process.env) });

  const kafka = new Kafka({ clientId: "tributary-stack", brokers, logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  const names = allTopics.flatMap((topic) => [topic.name, topic.deadLetterName]);
  await admin.createTopics({ topics: names.map((topic) => ({ topic, numPartitions: 3 })), waitForLeaders: true });
  const metadata = await admin.fetchTopicMetadata({ topics: names });
  await admin.disconnect();

  console.log(`Tributary local stack (up in ${Date.now() - started} ms)`);
  console.log(`  kafka     ${brokers.join(",")}${existing ? " (KAFKA_BROKERS)" : " (local KRaft broker)"}`);
  for (const topic of [...metadata.topics].sort((a, b) => a.name.localeCompare(b.name))) {
    console.log(`  topic     ${topic.name} (${topic.partitions.length} partitions)`);
  }
  for (const database of migrated) {
    console.log(
      `  postgres  ${database.database}: ${database.applied.length} migrations applied now, ` +
        `${database.alreadyApplied.length} before (${database.service.packageName})`,
    );
  }
  console.log(`KAFKA_BROKERS=${brokers.join(",")}`);

  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop();
  };
  if (values.exit === true) {
    await stopAll();
    return;
  }
  console.log("running; Ctrl-C stops everything");
  await new Promise<void>((resolveStop) => {
    process.once("SIGINT", () => resolveStop());
    process.once("SIGTERM", () => resolveStop());
  });
  await stopAll();
}

main().catch((error: unknown) => {
  console.error(`✗ ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
