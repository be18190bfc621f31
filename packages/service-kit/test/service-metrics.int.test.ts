/**
 * The kit's Prometheus endpoint on the real broker and Postgres: a service runtime serves
 * `/metrics` on its health port, and the standard gauges carry real numbers — the outbox backlog
 * and its age before and after the relay publishes, consumer lag per group and partition, parked
 * keys and dead letters from a real idempotent consumer, and a service's own instrument.
 */
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { defineTopic } from "@tributary/contracts";
import { OrderCancelledSchema } from "@tributary/contracts/order/v1/order_events";
import { appendToOutbox, NonRetryableError, startIdempotentConsumer, type IdempotentConsumer } from "@tributary/events";
import { applyMigrations, databaseUrl, dropDatabase, ensureDatabase, findServiceDatabases } from "@tributary/local-postgres";
import { startTelemetry, type Telemetry } from "@tributary/telemetry";
import { prometheusSample, testKafkaBrokers, testPostgresServerUrl } from "@tributary/testkit/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServiceRuntime, type ServiceRuntime } from "../src/index.js";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
// A database of its own with the events package's shared tables, so the backlog counts only this
// file's rows (`_test_<pid>`: dropped by the testkit if this process dies before its teardown).
const database = `tributary_kit_metrics_test_${process.pid}`;
const topic = defineTopic(`kit-metrics.${randomUUID().slice(0, 8)}`, [OrderCancelledSchema], {
  partitions: 2,
  replicationFactor: 1,
  minInsyncReplicas: 1,
});
const keys = ["k1", "k2", "k3", "k4", "k5"].map((key) => `${key}-${randomUUID().slice(0, 6)}`);
const poisonKey = keys[2]!;
const idleGroup = `kit-metrics-idle-${randomUUID().slice(0, 8)}`;
const consumingGroup = `kit-metrics-consumer-${randomUUID().slice(0, 8)}`;

let telemetry: Telemetry;
let runtime: ServiceRuntime;
let consumer: IdempotentConsumer | undefined;


async function scrape(): Promise<string> {
  await runtime.metrics.pollNow();
  const response = await fetch(`http://${runtime.healthAddress}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  const serverUrl = testPostgresServerUrl();
  await dropDatabase(serverUrl, database);
  await ensureDatabase(serverUrl, database);
  const events = (await findServiceDatabases(repoRoot)).flatMap((service) => service.sharedTables).find((tables) => tables.packageName === "@tributary/events");
  if (events === undefined) throw new Error("no shared tables of @tributary/events found");
  await applyMigrations(databaseUrl(serverUrl, database), events.migrationsDir, { kind: "shared", source: events.packageName });

  telemetry = await startTelemetry({ serviceName: "kit-metrics", env: {} });
  runtime = await startServiceRuntime({
    name: "kit-metrics",
    databaseUrl: databaseUrl(serverUrl, database),
    kafka: { brokers: testKafkaBrokers() },
    topics: [topic],
    healthAddress: "127.0.0.1:0",
    // Only pollNow() reads, so every scrape below sees exactly what the test just did.
    metricsPollIntervalMs: 600_000,
  });
});

afterAll(async () => {
  await consumer?.stop();
  await runtime?.stop();
  await telemetry?.shutdown();
  await dropDatabase(testPostgresServerUrl(), database);
});

describe("GET /metrics on the health port", () => {
  it("reports the outbox backlog and its age from the database, and both fall to 0 once the relay publishes", async () => {
    const empty = await scrape();
    expect(prometheusSample(empty, "tributary_outbox_unpublished", { state: "pending" })).toBe(0);
    expect(prometheusSample(empty, "tributary_outbox_oldest_unpublished_age", {})).toBe(0);

    const client = await runtime.pool.connect();
    try {
      await client.query("BEGIN");
      await appendToOutbox(
        client,
        "kit-metrics",
        topic,
        keys.map((key) => ({ key, schema: OrderCancelledSchema, message: create(OrderCancelledSchema, { orderId: key, reason: "test" }) })),
      );
      // As if they had waited a minute and a half for a relay.
      await client.query(`UPDATE "outbox" SET "created_at" = now() - interval '90 seconds'`);
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    const waiting = await scrape();
    expect(prometheusSample(waiting, "tributary_outbox_unpublished", { state: "pending" })).toBe(5);
    expect(prometheusSample(waiting, "tributary_outbox_unpublished", { state: "quarantined" })).toBe(0);
    const age = prometheusSample(waiting, "tributary_outbox_oldest_unpublished_age", {});
    expect(age).toBeGreaterThanOrEqual(90);
    expect(age).toBeLessThan(150);
    expect(waiting).toMatch(/^# UNIT tributary_outbox_oldest_unpublished_age s$/m);

    await runtime.startRelay({ pollIntervalMs: 100 });
    const published = await eventually(async () => {
      const text = await scrape();
      return prometheusSample(text, "tributary_outbox_unpublished", { state: "pending" }) === 0 ? text : undefined;
    }, "the relay to publish the 5 rows");
    expect(prometheusSample(published, "tributary_outbox_oldest_unpublished_age", {})).toBe(0);
    // The relay's own counter, on the same endpoint.
    expect(prometheusSample(published, "messaging_client_sent_messages_total", { messaging_destination_name: topic.name })).toBe(5);
  });

  it("reports consumer lag per group and partition: the whole log for a group that has read nothing", async () => {
    runtime.metrics.watchConsumerGroup(idleGroup, [topic.name]);
    // A group the broker has never seen may answer NOT_COORDINATOR at first: the next poll reads it.
    const text = await eventually(async () => {
      const scraped = await scrape();
      return prometheusSample(scraped, "tributary_consumer_lag", { messaging_consumer_group_name: idleGroup, messaging_destination_partition_id: "0" }) === undefined
        ? undefined
        : scraped;
    }, "the idle group's lag");
    const lag = [0, 1].map((partition) =>
      prometheusSample(text, "tributary_consumer_lag", {
        messaging_consumer_group_name: idleGroup,
        messaging_destination_name: topic.name,
        messaging_destination_partition_id: String(partition),
      }),
    );
    expect(lag.every((value) => value !== undefined)).toBe(true);
    expect(lag.reduce((sum = 0, value = 0) => sum + value, 0)).toBe(5);
    // Each part says how fresh it is: read in the poll just made.
    expect(prometheusSample(text, "tributary_metrics_read_age", { part: "consumer_lag", messaging_consumer_group_name: idleGroup })).toBeLessThan(5);
    expect(prometheusSample(text, "tributary_metrics_read_age", { part: "outbox" })).toBeLessThan(5);
    // A watched group with nothing parked says 0, not nothing.
    expect(prometheusSample(text, "tributary_consumer_parked_keys", { messaging_consumer_group_name: idleGroup, messaging_destination_name: topic.name })).toBe(0);
  });

  it("follows a consumer made on the runtime's client without being told: lag to 0, its dead letter counted, its key parked", async () => {
    consumer = await runtime.start("test consumer", () =>
      startIdempotentConsumer({
        kafka: runtime.kafka,
        pool: runtime.pool,
        groupId: consumingGroup,
        topic,
        maxWaitTimeMs: 100,
        handle: async (event) => {
          if (event.key === poisonKey) throw new NonRetryableError("refused by the test");
        },
      }),
    );
    const settled = await eventually(async () => {
      const text = await scrape();
      const lags = [0, 1].map((partition) =>
        prometheusSample(text, "tributary_consumer_lag", {
          messaging_consumer_group_name: consumingGroup,
          messaging_destination_name: topic.name,
          messaging_destination_partition_id: String(partition),
        }),
      );
      const parked = prometheusSample(text, "tributary_consumer_parked_keys", { messaging_consumer_group_name: consumingGroup, messaging_destination_name: topic.name });
      return lags.every((value) => value === 0) && parked === 1 ? text : undefined;
    }, "the consumer to commit every offset and park the poison key");
    expect(prometheusSample(settled, "tributary_messaging_dead_lettered_messages_total", { messaging_consumer_group_name: consumingGroup })).toBe(1);
    // The idle group still lags by the whole log.
    expect(prometheusSample(settled, "tributary_consumer_lag", { messaging_consumer_group_name: idleGroup, messaging_destination_partition_id: "0" })).toBeDefined();
    const { rows } = await runtime.pool.query<{ message_key: string }>(`SELECT "message_key" FROM "parked_key" WHERE "consumer_group" = $1`, [consumingGroup]);
    expect(rows.map((row) => row.message_key)).toEqual([poisonKey]);

    await consumer.stop();
    consumer = undefined;
    // Its consumer left: the group is no longer read, and its read age says so as it grows.
    const before = prometheusSample(await scrape(), "tributary_metrics_read_age", { part: "consumer_lag", messaging_consumer_group_name: consumingGroup }) ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const later = prometheusSample(await scrape(), "tributary_metrics_read_age", { part: "consumer_lag", messaging_consumer_group_name: consumingGroup }) ?? 0;
    expect(later).toBeGreaterThan(before + 0.25);
  });

  it("serves the service's own instruments made on runtime.meter beside the kit's", async () => {
    runtime.meter.createCounter("tributary.payments", { unit: "{payment}" }).add(2, { provider: "wechatpay", outcome: "captured" });
    const text = await scrape();
    expect(prometheusSample(text, "tributary_payments_total", { provider: "wechatpay", outcome: "captured", otel_scope_name: "kit-metrics" })).toBe(2);
    // Not a path this server knows: still a 404 that names the three it does.
    const missing = await fetch(`http://${runtime.healthAddress}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "not found: GET /livez, /readyz or /metrics" });
  });
});
