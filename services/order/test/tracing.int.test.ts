import { SpanKind, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { ordersTopic } from "@tributary/contracts";
import { newEventId, startIdempotentConsumer, type IdempotentConsumer } from "@tributary/events";
import { startTelemetry, type Telemetry } from "@tributary/telemetry";
import { testKafkaBrokers } from "@tributary/testkit/vitest";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startOrderTestEnv, uniqueMerchant, validOrder, type OrderTestEnv } from "./order-test-env.js";

const spans = new InMemorySpanExporter();
let telemetry: Telemetry;
let env: OrderTestEnv;
let downstream: IdempotentConsumer;
// What the downstream consumer saw, by Kafka key (the order id): the traceparent it received.
const delivered = new Map<string, string>();

beforeAll(async () => {
  // Telemetry before the service: the relay and the consumers take their tracers at start.
  telemetry = await startTelemetry({ serviceName: "order-trace-test", spanExporters: [spans] });
  env = await startOrderTestEnv();
  // Stands in for payment-routing: a real idempotent consumer of orders.v1 in its own group.
  downstream = await startIdempotentConsumer({
    kafka: new Kafka({ clientId: "order-trace-downstream", brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }),
    pool: env.pool,
    groupId: `order-trace-downstream-${newEventId()}`,
    topic: ordersTopic,
    maxWaitTimeMs: 200,
    handle: async (event) => {
      if (event.eventType === "tributary.order.v1.OrderAccepted") delivered.set(event.key, event.headers["traceparent"] ?? "");
    },
  });
});

afterAll(async () => {
  await downstream?.stop();
  await env?.stop();
  await telemetry?.shutdown();
});

describe("one trace per order", () => {
  it("runs from the gRPC client through CreateOrder, the outbox and Kafka to a downstream consumer", async () => {
    const merchant = uniqueMerchant("trace");
    let traceId = "";
    let rootSpanId = "";
    const orderId = await telemetry.tracer.startActiveSpan("upstream checkout", async (root) => {
      traceId = root.spanContext().traceId;
      rootSpanId = root.spanContext().spanId;
      try {
        return (await env.writer.createOrder(validOrder(merchant, "ref-trace"))).order!.orderId;
      } finally {
        root.end();
      }
    });
    await eventually(async () => delivered.get(orderId), "the downstream consumer's OrderAccepted");
    await telemetry.forceFlush();

    const inTrace = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const named = (name: string, kind: SpanKind, extra: (s: ReadableSpan) => boolean = () => true): ReadableSpan => {
      const span = inTrace.find((s) => s.name === name && s.kind === kind && extra(s));
      if (span === undefined) throw new Error(`no ${name} span in trace ${traceId}: ${inTrace.map((s) => s.name).join(", ")}`);
      return span;
    };
    const client = named("tributary.order.v1.OrderService/CreateOrder", SpanKind.CLIENT);
    const server = named("tributary.order.v1.OrderService/CreateOrder", SpanKind.SERVER);
    const created = named(`create ${ordersTopic.name}`, SpanKind.PRODUCER, (s) => s.attributes["messaging.kafka.message.key"] === orderId);
    const processed = named(`process ${ordersTopic.name}`, SpanKind.CONSUMER, (s) => s.attributes["messaging.kafka.message.key"] === orderId);

    // gRPC client → server → outbox append → (relay, Kafka) → the downstream consumer's process span.
    expect(client.parentSpanContext?.spanId).toBe(rootSpanId);
    expect(server.parentSpanContext?.spanId).toBe(client.spanContext().spanId);
    expect(created.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(processed.parentSpanContext?.spanId).toBe(created.spanContext().spanId);
    expect(server.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": "tributary.order.v1.OrderService",
      "rpc.method": "CreateOrder",
      "rpc.grpc.status_code": 0,
    });

    // The context travelled as data: in the outbox row, on the Kafka record, to the consumer.
    const traceparent = `00-${traceId}-${created.spanContext().spanId}-01`;
    const { rows } = await env.pool.query<{ headers: Record<string, string> }>(
      `SELECT "headers" FROM "outbox" WHERE "message_key" = $1 AND "event_type" = 'tributary.order.v1.OrderAccepted'`,
      [orderId],
    );
    expect(rows[0]?.headers["traceparent"]).toBe(traceparent);
    const record = await env.orders.waitFor(
      (r) => r.key === orderId && r.headers["event-type"] === "tributary.order.v1.OrderAccepted",
      "OrderAccepted on orders.v1",
    );
    expect(record.headers["traceparent"]).toBe(traceparent);
    expect(delivered.get(orderId)).toBe(traceparent);
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it("keeps each caller's trace when concurrent creates are committed in one batch", async () => {
    const merchant = uniqueMerchant("trace-batch");
    const callers = Array.from({ length: 24 }, (_, index) => `ref-batch-${index}`);
    // Concurrent calls, each under its own root span: the batcher commits several together.
    const created = await Promise.all(
      callers.map((ref) =>
        telemetry.tracer.startActiveSpan(`checkout ${ref}`, async (root) => {
          try {
            const response = await env.writer.createOrder(validOrder(merchant, ref));
            return { orderId: response.order!.orderId, traceId: root.spanContext().traceId };
          } finally {
            root.end();
          }
        }),
      ),
    );
    expect(new Set(created.map((c) => c.traceId)).size).toBe(callers.length);
    const { rows } = await env.pool.query<{ message_key: string; headers: Record<string, string> }>(
      `SELECT "message_key", "headers" FROM "outbox" WHERE "message_key" = ANY($1) AND "event_type" = 'tributary.order.v1.OrderAccepted'`,
      [created.map((c) => c.orderId)],
    );
    expect(rows).toHaveLength(callers.length);
    const traceOf = new Map(rows.map((row) => [row.message_key, row.headers["traceparent"]?.split("-")[1]]));
    for (const { orderId, traceId } of created) expect(traceOf.get(orderId)).toBe(traceId);
  });
});
