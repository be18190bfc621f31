/**
 * Shared set-up of the events benchmarks (`outbox`, `consume`): a broker from `KAFKA_BROKERS` or
 * the testkit, a migrated events database from `EVENTS_DATABASE_URL` or a fresh
 * `tributary_events_bench_test_<pid>` on the testkit's Postgres, and messages of a fixed size.
 */
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { defineTopic } from "@tributary/contracts";
import { OrderCancelledSchema } from "@tributary/contracts/order/v1/order_events";
import { envelopeHeaders, newEventId, protobufContentType } from "@tributary/events";
import { databaseUrl, dropDatabase, ensureDatabase, findServiceDatabases, migrateServiceDatabase } from "@tributary/local-postgres";
import { kafka as testKafka, postgres as testPostgres } from "@tributary/testkit";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";

process.env["KAFKAJS_NO_PARTITIONER_WARNING"] = "1";

/** Messages of the warm-up, from which each bench sizes its rounds (see bench/_rounds.ts). */
export const warmupMessages = Number.parseInt(process.env["BENCH_WARMUP_MESSAGES"] ?? "20000", 10);
/** Most messages one round may take, whatever the warm-up rate (bounds memory and disk). */
export const maxRoundMessages = Number.parseInt(process.env["BENCH_MAX_ROUND_MESSAGES"] ?? "600000", 10);
export const messageBytes = Number.parseInt(process.env["BENCH_MESSAGE_BYTES"] ?? "512", 10);
export const batchSize = Number.parseInt(process.env["BENCH_BATCH"] ?? "500", 10);
export const partitions = Number.parseInt(process.env["BENCH_PARTITIONS"] ?? "3", 10);
export const keyCount = 1_000;
export const runId = newEventId().slice(-12);

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

export interface EventsBenchInfra {
  readonly kafka: Kafka;
  readonly pool: pg.Pool;
  readonly brokers: readonly string[];
  close(): Promise<void>;
}

export async function startInfra(): Promise<EventsBenchInfra> {
  const broker = await testKafka();
  let url = process.env["EVENTS_DATABASE_URL"];
  let stopPostgres = async (): Promise<void> => {};
  if (url === undefined) {
    const server = await testPostgres();
    // One database per bench process (the `_test_<pid>` form, so the testkit reaps it if this
    // process dies first): two benches at once never drop each other's database.
    const database = `tributary_events_bench_test_${process.pid}`;
    stopPostgres = async () => {
      await dropDatabase(server.serverUrl, database);
      await server.stop();
    };
    await dropDatabase(server.serverUrl, database);
    await ensureDatabase(server.serverUrl, database);
    url = databaseUrl(server.serverUrl, database);
    const events = (await findServiceDatabases(repoRoot)).find((service) => service.packageName === "@tributary/events");
    if (events === undefined) throw new Error("the events package declares no database");
    await migrateServiceDatabase(url, events);
  }
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on("error", () => undefined);
  const kafka = new Kafka({ clientId: "events-bench", brokers: [...broker.brokers], logLevel: logLevel.ERROR });
  return {
    kafka,
    pool,
    brokers: broker.brokers,
    close: async () => {
      await pool.end();
      await broker.stop();
      await stopPostgres();
    },
  };
}

/** A benchmark topic (carrying `OrderCancelled`), unique per run. */
export function benchTopic(label: string) {
  return defineTopic(`bench.${label}.${runId}`, [OrderCancelledSchema], { partitions, replicationFactor: 3, minInsyncReplicas: 2 });
}

/** An `OrderCancelled` whose protobuf encoding is exactly `messageBytes` long. */
export function sizedCancellation(key: string) {
  const empty = toBinary(OrderCancelledSchema, create(OrderCancelledSchema, { orderId: key, reason: "" }));
  // Field 2 (reason) costs a tag byte plus a length varint; two bytes of varint above 127.
  const overhead = 1 + (messageBytes - empty.length > 129 ? 2 : 1);
  const reason = "x".repeat(Math.max(0, messageBytes - empty.length - overhead));
  return create(OrderCancelledSchema, { orderId: key, reason });
}

/** A Kafka message as our producers send it: key, envelope headers and protobuf bytes. */
export function envelopedMessage(index: number): { key: string; value: Buffer; headers: Record<string, string> } {
  const key = `order-${index % keyCount}`;
  const value = Buffer.from(toBinary(OrderCancelledSchema, sizedCancellation(key)));
  const headers = envelopeHeaders({
    eventId: newEventId(),
    eventType: OrderCancelledSchema.typeName,
    schemaVersion: "1",
    producer: "bench",
    occurredAt: new Date(),
    contentType: protobufContentType,
  });
  // The relay carries a traceparent per message; give the baseline the same header bytes.
  headers["traceparent"] = `00-${"0".repeat(31)}1-${"0".repeat(15)}1-01`;
  return { key, value, headers };
}

/** Messages per second, rounded to an integer for the report. */
export function rate(count: number, ms: number): number {
  return Math.round((count * 1_000) / ms);
}
