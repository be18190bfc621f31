import { context, propagation, trace } from "@opentelemetry/api";
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { afterEach, describe, expect, it } from "vitest";
import { messagingMetrics } from "./messaging-metrics.js";
import { startTelemetry, type Telemetry } from "./start-telemetry.js";

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
});
