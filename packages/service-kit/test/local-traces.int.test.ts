/**
 * One order's trace without Docker, on the real broker and Postgres: with TRIBUTARY_TRACES_DIR
 * set, the spans of a checkout, its outbox append, the relay's send and a consumer's processing —
 * across a real Kafka hop — land in the service's JSON-lines file, and `loadOrderTrace` finds them
 * by the order id and renders them as one tree with the right parents.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { defineTopic } from "@tributary/contracts";
import { OrderCancelledSchema } from "@tributary/contracts/order/v1/order_events";
import { appendToOutbox, startIdempotentConsumer } from "@tributary/events";
import { setOrderIdOnActiveSpan, startTelemetry, type Telemetry } from "@tributary/telemetry";
import { loadOrderTrace } from "@tributary/telemetry/local-traces";
import { testDatabaseUrl, testKafkaBrokers } from "@tributary/testkit/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServiceRuntime, type ServiceRuntime } from "../src/index.js";

const topic = defineTopic(`kit-traces.${randomUUID().slice(0, 8)}`, [OrderCancelledSchema], {
  partitions: 1,
  replicationFactor: 1,
  minInsyncReplicas: 1,
});
const orderId = `ord-${randomUUID()}`;
const otherOrderId = `ord-${randomUUID()}`;

let dir = "";
let telemetry: Telemetry;
let runtime: ServiceRuntime;
const processed = new Set<string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kit-traces-"));
  telemetry = await startTelemetry({ serviceName: "kit-traces", env: { TRIBUTARY_TRACES_DIR: dir } });
  runtime = await startServiceRuntime({
    name: "kit-traces",
    databaseUrl: testDatabaseUrl("tributary_events"),
    kafka: { brokers: testKafkaBrokers() },
    topics: [topic],
  });
  await runtime.startRelay({ pollIntervalMs: 100 });
  await runtime.start("consumer", () =>
    startIdempotentConsumer({
      kafka: runtime.kafka,
      pool: runtime.pool,
      groupId: `kit-traces-${randomUUID().slice(0, 8)}`,
      topic,
      maxWaitTimeMs: 100,
      handle: async (event) => {
        setOrderIdOnActiveSpan(event.key);
        processed.add(event.key);
      },
    }),
  );
});

afterAll(async () => {
  await runtime?.stop();
  await telemetry?.shutdown();
  await rm(dir, { recursive: true, force: true });
});

async function checkout(id: string): Promise<void> {
  await telemetry.tracer.startActiveSpan(`checkout ${id.slice(0, 12)}`, async (root) => {
    try {
      setOrderIdOnActiveSpan(id);
      const client = await runtime.pool.connect();
      try {
        await client.query("BEGIN");
        await appendToOutbox(client, "kit-traces", topic, [
          { key: id, schema: OrderCancelledSchema, message: create(OrderCancelledSchema, { orderId: id, reason: "trace test" }) },
        ]);
        await client.query("COMMIT");
      } finally {
        client.release();
      }
    } finally {
      root.end();
    }
  });
}

describe("tributary trace without a collector", () => {
  it("finds an order's spans in the local files and renders one tree across the Kafka hop", async () => {
    await checkout(orderId);
    await checkout(otherOrderId);
    const deadline = Date.now() + 30_000;
    while (!(processed.has(orderId) && processed.has(otherOrderId))) {
      if (Date.now() > deadline) throw new Error("the consumer never processed both orders");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await telemetry.forceFlush();

    const result = await loadOrderTrace(dir, orderId);
    if (!result.ok) throw new Error(result.error.message);
    const names = result.value.spans.map((span) => span.name);
    expect(names).not.toContain(`checkout ${otherOrderId.slice(0, 12)}`);
    const byName = (name: string) => {
      const span = result.value.spans.find((candidate) => candidate.name === name);
      if (span === undefined) throw new Error(`no ${name} span: ${names.join(", ")}`);
      return span;
    };
    const root = byName(`checkout ${orderId.slice(0, 12)}`);
    const created = byName(`create ${topic.name}`);
    const consumed = byName(`process ${topic.name}`);
    expect(root.parentSpanId).toBeUndefined();
    expect(created.parentSpanId).toBe(root.spanId);
    expect(consumed.parentSpanId).toBe(created.spanId);
    expect(consumed.attributes["tributary.order_id"]).toBe(orderId);

    const lines = result.value.text.split("\n");
    expect(lines[0]).toMatch(new RegExp(`^trace ${root.traceId} · .* · kit-traces$`));
    expect(lines[2]).toMatch(new RegExp(`^checkout ${orderId.slice(0, 12)}\\s+kit-traces\\s+internal\\s+\\+0\\.0ms`));
    expect(lines[3]).toMatch(new RegExp(`^└─ create ${topic.name.replace(".", "\\.")}\\s+kit-traces\\s+producer`));
    // The consumer's span sits under the producer's: the trace crossed Kafka.
    expect(lines[4]).toMatch(new RegExp(`^   └─ process ${topic.name.replace(".", "\\.")}\\s+kit-traces\\s+consumer`));

    // The relay's batched send is a trace of its own that links to the create span; it is shown
    // with the order (one link away) and the other order's checkout is not.
    expect(result.value.traceIds).toHaveLength(2);
    const send = byName(`send ${topic.name}`);
    expect(send.traceId).not.toBe(root.traceId);
    expect(send.links).toContainEqual({ traceId: root.traceId, spanId: created.spanId });
    // The relay may send both orders in one batch, so the send can link to the other order's
    // create span as well; this order's link must be among those shown.
    const shownLink = `${root.traceId.slice(0, 8)}/${created.spanId.slice(0, 8)}`;
    expect(result.value.text).toMatch(new RegExp(`\\(links (?:[0-9a-f]{8}/[0-9a-f]{8}, )*${shownLink}(?:, [0-9a-f]{8}/[0-9a-f]{8})*\\)`));
  });
});
