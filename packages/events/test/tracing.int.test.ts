import { create } from "@bufbuild/protobuf";
import { SpanKind, trace } from "@opentelemetry/api";
import { OrderPaymentFailedSchema } from "@tributary/contracts/order/v1/order_events";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { startTelemetry, type Telemetry } from "@tributary/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendToOutbox, startIdempotentConsumer, startOutboxRelay } from "../src/index.js";
import {
  appendCancellations,
  createTestTopic,
  effects,
  eventually,
  newTestTopic,
  randomUUID,
  recordEffect,
  testKafka,
  testPool,
} from "./support.js";

const pool = testPool();
const kafka = testKafka();
const spans = new InMemorySpanExporter();
let telemetry: Telemetry;

beforeAll(async () => {
  telemetry = await startTelemetry({ serviceName: "events-trace-test", spanExporters: [spans] });
  await pool.query(`UPDATE "outbox" SET "published_at" = now() WHERE "published_at" IS NULL`);
});
afterAll(async () => {
  await telemetry.shutdown();
  await pool.end();
});

describe("trace propagation", () => {
  it("keeps one trace id from the producer through Kafka, a consumer, its outbox, to the next hop", async () => {
    const first = newTestTopic("trace-a");
    const second = newTestTopic("trace-b");
    await createTestTopic(kafka, first, 1);
    await createTestTopic(kafka, second, 1);
    const hopGroup = `trace-hop-${randomUUID()}`;
    const endGroup = `trace-end-${randomUUID()}`;
    let seenTraceparent = "";

    const relay = await startOutboxRelay({ pool, kafka, producerName: "events-trace-test", pollIntervalMs: 200 });
    // The middle service: consumes the first topic and, in the same transaction, appends to the second.
    const hop = await startIdempotentConsumer({
      kafka,
      pool,
      groupId: hopGroup,
      topic: first,
      handle: async (event, tx) => {
        await appendToOutbox(tx, "events-trace-hop", second, [
          {
            key: event.key,
            schema: OrderPaymentFailedSchema,
            message: create(OrderPaymentFailedSchema, { orderId: event.key, reason: "declined" }),
          },
        ]);
      },
    });
    const end = await startIdempotentConsumer({
      kafka,
      pool,
      groupId: endGroup,
      topic: second,
      handle: async (event, tx) => {
        seenTraceparent = event.headers["traceparent"] ?? "";
        await recordEffect(endGroup, event, tx, "end");
      },
    });
    let traceId = "";
    try {
      await telemetry.tracer.startActiveSpan("POST /orders", { kind: SpanKind.SERVER }, async (root) => {
        traceId = root.spanContext().traceId;
        await appendCancellations(pool, first, [{ key: "order-trace", seq: 1 }]);
        root.end();
      });
      await eventually(async () => ((await effects(pool, endGroup)).length === 1 ? true : undefined), "the last hop's effect");
    } finally {
      await Promise.all([hop.stop(), end.stop()]);
      await relay.stop();
    }
    await telemetry.forceFlush();

    const finished = spans.getFinishedSpans();
    const named = (name: string): ReadableSpan => {
      const span = finished.find((s) => s.name === name && s.spanContext().traceId === traceId);
      if (span === undefined) throw new Error(`no span ${name} in trace ${traceId}: ${finished.map((s) => s.name).join(", ")}`);
      return span;
    };
    const root = named("POST /orders");
    const createFirst = named(`create ${first.name}`);
    const processFirst = named(`process ${first.name}`);
    const createSecond = named(`create ${second.name}`);
    const processSecond = named(`process ${second.name}`);
    // The chain of parents: root → create → (Kafka) → process → create → (outbox, Kafka) → process.
    expect(createFirst.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(processFirst.parentSpanContext?.spanId).toBe(createFirst.spanContext().spanId);
    expect(createSecond.parentSpanContext?.spanId).toBe(processFirst.spanContext().spanId);
    expect(processSecond.parentSpanContext?.spanId).toBe(createSecond.spanContext().spanId);
    expect(seenTraceparent).toBe(`00-${traceId}-${createSecond.spanContext().spanId}-01`);
    expect(processSecond.kind).toBe(SpanKind.CONSUMER);
    expect(createFirst.kind).toBe(SpanKind.PRODUCER);
    expect(processFirst.attributes).toMatchObject({
      "messaging.system": "kafka",
      "messaging.destination.name": first.name,
      "messaging.operation.type": "process",
      "messaging.consumer.group.name": hopGroup,
      "messaging.kafka.message.key": "order-trace",
    });
    // The relay's send spans sit in their own traces and link to the messages they carried.
    const sends = finished.filter((s) => s.name === `send ${first.name}` || s.name === `send ${second.name}`);
    expect(sends.length).toBeGreaterThanOrEqual(2);
    expect(sends.some((s) => s.links.some((l) => l.context.spanId === createFirst.spanContext().spanId))).toBe(true);
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
