import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { create, toBinary } from "@bufbuild/protobuf";
import { channelIdToProto, providerIdToProto, sandboxProviderName } from "@tributary/contracts";
import { OrderStatus } from "@tributary/contracts/order/v1/order";
import { OrderAcceptedSchema } from "@tributary/contracts/order/v1/order_events";
import { envelopeHeaders, newEventId, protobufContentType } from "@tributary/events";
import { startSandbox, type RunningSandbox } from "@tributary/provider-sandbox";
import { setOrderIdOnActiveSpan, startTelemetry, type Telemetry } from "@tributary/telemetry";
import { loadOrderTrace, type TraceSpan } from "@tributary/telemetry/local-traces";
import { freshTestDatabase, testKafkaBrokers } from "@tributary/testkit/vitest";
import { Kafka, logLevel, type Producer } from "kafkajs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NotificationEffects } from "../src/adapters/http/notification-effects.js";
import { startWebhookServer, type RunningWebhookServer } from "../src/adapters/http/webhook-server.js";
import { fixedPolicySource } from "../src/app/policy-source.js";
import { startPaymentRoutingService, type RunningPaymentRoutingService } from "../src/payment-routing-service.js";
import { createProviderAdapters } from "../src/provider-adapters.js";
import { startGroupAtTopicEnd, testPolicy } from "./payment-routing-test-env.js";
import { capturingLogger, eventually } from "./webhook-support.js";

/*
 * One order, one trace through payment routing: the order service's produce span (made here, its
 * traceparent on the OrderAccepted headers as the order service's outbox puts it), payment
 * routing's consumer span, the worker's provider call, the webhook's apply, and the PaymentCaptured
 * it appends (whose headers carry the trace on to settlement). The worker and the webhook run long
 * after the consumer's transaction, in other call stacks: they continue the traceparent stored on
 * the payment row. Spans go through the real exporter `tributary trace` reads (TRIBUTARY_TRACES_DIR),
 * and are read back with the same loader. Real sandbox over HTTP, Kafka and Postgres.
 */
describe("one trace per payment across the worker and webhook hops", () => {
  const tracesDir = mkdtempSync(join(tmpdir(), "payment-routing-traces-"));
  const merchantId = `m-trace-${newEventId().slice(-12)}`;
  const { logger } = capturingLogger();
  let telemetry: Telemetry;
  let sandbox: RunningSandbox;
  let database: { url: string; drop(): Promise<void> };
  let pool: pg.Pool;
  let webhook: RunningWebhookServer;
  let service: RunningPaymentRoutingService | undefined;
  let producer: Producer;

  beforeAll(async () => {
    telemetry = await startTelemetry({ serviceName: "payment-routing", env: { TRIBUTARY_TRACES_DIR: tracesDir }, prometheus: false });
    sandbox = await startSandbox({ port: 0, seed: 31, buyer: { mode: "manual" }, timing: { notifyScheduleMs: { wechat: [0, 500, 1000] } } });
    database = await freshTestDatabase("tributary_payment_routing");
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    const adapters = createProviderAdapters(sandbox.providers, { timeoutMs: 3_000 });
    const effects: NotificationEffects = {
      applyPayment: (tx, report, ctx) => started().lifecycle.notificationEffects.applyPayment(tx, report, ctx),
      applyRefund: (tx, report, ctx) => started().lifecycle.notificationEffects.applyRefund(tx, report, ctx),
    };
    webhook = await startWebhookServer({ adapters, pool, effects, logger, pruneIntervalMs: 0 });
    const brokers = testKafkaBrokers();
    const kafka = new Kafka({ clientId: "payment-routing-trace-test", brokers, logLevel: logLevel.NOTHING });
    const ordersGroupId = `payment-routing-trace-test-${newEventId()}`;
    await startGroupAtTopicEnd(kafka, ordersGroupId, "orders.v1");
    service = await startPaymentRoutingService({
      databaseUrl: database.url,
      kafkaBrokers: brokers,
      adapters,
      policySource: fixedPolicySource(testPolicy(merchantId, ["wechat_pay"])),
      notifyBaseUrl: webhook.url,
      ordersGroupId,
      // The first query comes late, so the capture arrives by notification, through the webhook.
      timings: { firstQueryAfterMs: 60_000, queryIntervalMs: 60_000, paymentTimeoutMs: 120_000, unknownRetryMs: 500, leaseMs: 15_000 },
      workerIntervalMs: 200,
      random: () => 0.5,
      logger,
    });
    producer = kafka.producer();
    await producer.connect();
  });

  const started = (): RunningPaymentRoutingService => {
    if (service === undefined) throw new Error("the service is not started yet");
    return service;
  };

  afterAll(async () => {
    await producer?.disconnect();
    await service?.stop();
    await webhook?.stop();
    await pool?.end();
    await database?.drop();
    await sandbox?.stop();
    await telemetry?.shutdown();
    rmSync(tracesDir, { recursive: true, force: true });
  });

  /** OrderAccepted as made inside an "order service" produce span: the message, the order id and that span's ids. */
  const orderAcceptedInSpan = (orderId = newEventId()) => {
    const span = telemetry.tracer.startSpan("create orders.v1", { kind: SpanKind.PRODUCER });
    const headers = envelopeHeaders({
      eventId: newEventId(),
      eventType: OrderAcceptedSchema.typeName,
      schemaVersion: "1",
      producer: "order",
      occurredAt: new Date(),
      contentType: protobufContentType,
    });
    context.with(trace.setSpan(context.active(), span), () => {
      setOrderIdOnActiveSpan(orderId);
      propagation.inject(context.active(), headers);
    });
    span.end();
    const message = create(OrderAcceptedSchema, {
      order: {
        orderId,
        merchantId,
        merchantOrderRef: `ref-${orderId}`,
        buyer: { buyerId: "buyer-trace", country: "CN" },
        lines: [{ sku: "SKU-1", category: "apparel", quantity: 1n, unitPrice: { currency: "CNY", amountMinor: 8_800n } }],
        total: { currency: "CNY", amountMinor: 8_800n },
        channel: channelIdToProto("web"),
        preferredProvider: providerIdToProto("wechat_pay"),
        status: OrderStatus.ACCEPTED,
      },
    });
    return {
      record: { key: orderId, value: Buffer.from(toBinary(OrderAcceptedSchema, message)), headers },
      order: { orderId, traceId: span.spanContext().traceId, spanId: span.spanContext().spanId },
    };
  };

  /** Publishes OrderAccepted from inside an "order service" produce span; returns the order id and that span's ids. */
  const acceptOrderInSpan = async (): Promise<{ orderId: string; traceId: string; spanId: string }> => {
    const { record, order } = orderAcceptedInSpan();
    await producer.send({ topic: "orders.v1", messages: [record] });
    return order;
  };

  it("the consumer, the worker's provider call, the webhook's apply and the PaymentCaptured it appends are one trace, each under the right parent", async () => {
    const order = await acceptOrderInSpan();
    const paymentId = await eventually("a pending WeChat payment", async () => {
      const rows = await pool.query<{ payment_id: string }>("SELECT payment_id FROM payments WHERE order_id = $1 AND status = 'pending'", [order.orderId]);
      return rows.rows[0]?.payment_id;
    });
    expect(sandbox.pay(sandboxProviderName("wechat_pay"), paymentId)).toBe(true);
    await eventually("the capture, applied through the webhook", async () => {
      const rows = await pool.query("SELECT 1 FROM payments WHERE payment_id = $1 AND status = 'captured'", [paymentId]);
      return rows.rowCount === 1 ? true : undefined;
    });
    const captured = await pool.query<{ headers: Record<string, string> }>(
      "SELECT headers FROM outbox WHERE message_key = $1 AND event_type = 'tributary.payment.v1.PaymentCaptured'",
      [order.orderId],
    );
    await telemetry.forceFlush();

    const loaded = await loadOrderTrace(tracesDir, order.orderId);
    if (!loaded.ok) throw new Error(loaded.error.message);
    const spans = loaded.value.spans;
    const one = (predicate: (s: TraceSpan) => boolean, what: string): TraceSpan => {
      const found = spans.filter(predicate);
      expect(found, what).toHaveLength(1);
      return found[0]!;
    };
    const inTrace = (s: TraceSpan) => s.traceId === order.traceId;
    const consumed = one((s) => inTrace(s) && s.name === "process orders.v1" && s.kind === "consumer", "the OrderAccepted consumer span");
    const sent = one((s) => inTrace(s) && s.name === "payment-routing create payment", "the worker's create-payment span");
    const applied = one((s) => inTrace(s) && s.name === "payment-routing apply payment notification", "the webhook's apply span");
    const server = one((s) => s.name === "POST /webhooks/wechat_pay" && s.kind === "server", "the webhook's server span");
    const appended = spans.filter((s) => inTrace(s) && s.name === "create payments.v1" && s.kind === "producer");

    expect(consumed.parentSpanId).toBe(order.spanId);
    expect(sent.parentSpanId).toBe(consumed.spanId);
    expect(sent.attributes["tributary.payment_id"]).toBe(paymentId);
    expect(applied.parentSpanId).toBe(consumed.spanId);
    expect(applied.links).toContainEqual({ traceId: server.traceId, spanId: server.spanId });
    // PaymentRouted under the consumer, PaymentCaptured under the apply.
    expect(appended.map((s) => s.parentSpanId).sort()).toEqual([consumed.spanId, applied.spanId].sort());
    const capturedTraceParent = captured.rows[0]?.headers["traceparent"];
    const capturedSpan = appended.find((s) => s.parentSpanId === applied.spanId);
    expect(capturedTraceParent).toBe(`00-${order.traceId}-${capturedSpan?.spanId}-01`);
    // What `tributary trace` prints for the order holds every hop, in one tree.
    for (const name of ["process orders.v1", "payment-routing create payment", "payment-routing apply payment notification"]) expect(loaded.value.text).toContain(name);
  });

  it("orders consumed in one run each keep a trace of their own: a process span under their producer's, their attempt and PaymentRouted under it", async () => {
    // 24 orders in one produce request over 12 partitions: some partition holds a run of several.
    const made = Array.from({ length: 24 }, () => orderAcceptedInSpan());
    const again = orderAcceptedInSpan(made[0]!.order.orderId); // the first order once more, under a new event id
    await producer.send({ topic: "orders.v1", messages: [...made.map((m) => m.record), again.record] });
    const attempts = await eventually("every order's attempt", async () => {
      const rows = await pool.query<{ order_id: string; trace_parent: string | null }>(
        "SELECT order_id, trace_parent FROM payments WHERE order_id = ANY($1::text[])",
        [made.map((m) => m.order.orderId)],
      );
      return rows.rowCount === made.length ? rows.rows : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 500)); // the duplicate had its chance
    expect((await pool.query("SELECT 1 FROM payments WHERE order_id = $1", [made[0]!.order.orderId])).rowCount).toBe(1);
    await telemetry.forceFlush();
    let inLongerRun = 0;
    for (const { order } of made.slice(1)) {
      const loaded = await loadOrderTrace(tracesDir, order.orderId);
      if (!loaded.ok) throw new Error(loaded.error.message);
      const spans = loaded.value.spans.filter((s) => s.traceId === order.traceId);
      // A run that failed (the duplicate of the first order in it) leaves its spans with an error
      // status; the consumer then applied its events one by one.
      const consumed = spans.filter((s) => s.name === "process orders.v1" && s.kind === "consumer" && s.status.code !== "error");
      expect(consumed, `the consumer span of order ${order.orderId}`).toHaveLength(1);
      expect(consumed[0]!.parentSpanId).toBe(order.spanId);
      if (consumed[0]!.links.length > 0) inLongerRun += 1;
      const routed = spans.filter((s) => s.name === "create payments.v1" && s.kind === "producer" && s.parentSpanId === consumed[0]!.spanId);
      expect(routed, `the PaymentRouted of order ${order.orderId}`).toHaveLength(1);
      expect(attempts.find((a) => a.order_id === order.orderId)?.trace_parent).toBe(`00-${order.traceId}-${consumed[0]!.spanId}-01`);
    }
    expect(inLongerRun, "orders routed in a run of several").toBeGreaterThan(0);
  });
});
