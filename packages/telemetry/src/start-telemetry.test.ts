import { context, propagation, trace } from "@opentelemetry/api";
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { messagingMetrics } from "./messaging-metrics.js";
import { activeTelemetry, startTelemetry, type Telemetry } from "./start-telemetry.js";

let telemetry: Telemetry | undefined;
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
});

describe("startTelemetry", () => {
  it("exports spans with the service name and keeps the active span across await", async () => {
    const spans = new InMemorySpanExporter();
    telemetry = await startTelemetry({ serviceName: "svc-a", spanExporters: [spans] });
    await telemetry.tracer.startActiveSpan("parent", async (parent) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      trace.getTracer("t").startSpan("child").end();
      parent.end();
    });
    await telemetry.forceFlush();
    const [child, parent] = spans.getFinishedSpans();
    expect(parent?.name).toBe("parent");
    expect(child?.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
    expect(parent?.resource.attributes["service.name"]).toBe("svc-a");
  });

  it("propagates W3C traceparent and tracestate through a header carrier", async () => {
    telemetry = await startTelemetry({ serviceName: "svc-b", spanExporters: [new InMemorySpanExporter()] });
    const carrier: Record<string, string> = {};
    const span = telemetry.tracer.startSpan("send");
    propagation.inject(trace.setSpan(context.active(), span), carrier);
    span.end();
    expect(carrier["traceparent"]).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    const extracted = trace.getSpanContext(propagation.extract(context.active(), { ...carrier, tracestate: "k=v" }));
    expect(extracted?.traceId).toBe(span.spanContext().traceId);
    expect(extracted?.traceState?.get("k")).toBe("v");
  });

  it("records the messaging metrics, including the observable outbox backlog", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    telemetry = await startTelemetry({ serviceName: "svc-c", metricReaders: [reader] });
    const instruments = messagingMetrics(telemetry.meter);
    instruments.published.add(3, { "messaging.destination.name": "orders.v1" });
    instruments.deadLettered.add(1);
    instruments.handlerDuration.record(0.002);
    instruments.observeOutboxBacklog(() => 42);
    await telemetry.forceFlush();
    const names = new Map(
      exporter
        .getMetrics()
        .flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics))
        .map((m) => [m.descriptor.name, m.dataPoints[0]?.value]),
    );
    expect(names.get("messaging.client.sent.messages")).toBe(3);
    expect(names.get("tributary.messaging.dead_lettered.messages")).toBe(1);
    expect(names.get("tributary.outbox.backlog")).toBe(42);
    expect(names.get("messaging.process.duration")).toMatchObject({ count: 1 });
  });

  it("does nothing but stay local without OTEL_EXPORTER_OTLP_ENDPOINT", async () => {
    telemetry = await startTelemetry({ serviceName: "svc-d", env: {} });
    const span = telemetry.tracer.startSpan("x");
    expect(span.isRecording()).toBe(true);
    span.end();
  });

  it("answers a Prometheus scrape with the process's instruments through serveMetrics", async () => {
    telemetry = await startTelemetry({ serviceName: "svc-e", env: {} });
    expect(activeTelemetry()).toBe(telemetry);
    const started = telemetry;
    const server = createServer((request, response) => started.serveMetrics(request, response)).listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      messagingMetrics(telemetry.meter).published.add(3, { "messaging.destination.name": "orders.v1" });
      telemetry.meter.createObservableGauge("tributary.outbox.unpublished").addCallback((result) => result.observe(7));
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
      const text = await response.text();
      expect(text).toMatch(/^messaging_client_sent_messages_total\{messaging_destination_name="orders\.v1",otel_scope_name="svc-e"[^}]*\} 3$/m);
      expect(text).toMatch(/^tributary_outbox_unpublished\{otel_scope_name="svc-e"[^}]*\} 7$/m);
      expect(text).toMatch(/^target_info\{.*service_name="svc-e"/m);
    } finally {
      server.close();
    }
    await telemetry.shutdown();
    telemetry = undefined;
    expect(activeTelemetry()).toBeUndefined();
  });

  it("answers 503 to a scrape when started without the Prometheus reader", async () => {
    telemetry = await startTelemetry({ serviceName: "svc-f", env: {}, prometheus: false });
    const started = telemetry;
    const server = createServer((request, response) => started.serveMetrics(request, response)).listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
      expect(response.status).toBe(503);
    } finally {
      server.close();
    }
  });
});
