import { SpanKind, SpanStatusCode, context, trace } from "@opentelemetry/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startOtlpReceiver, type OtlpReceiver } from "@tributary/testkit/otlp-receiver";
import { startTelemetry } from "@tributary/telemetry";

// The real OTLP/HTTP protobuf exporters against the testkit's in-process receiver: what a
// collector would decode from the wire, field by field, and so also the check of that decoder
// against the bytes the real exporter writes.

let receiver: OtlpReceiver;

beforeEach(async () => {
  receiver = await startOtlpReceiver();
});

afterEach(async () => {
  await receiver.stop();
  delete process.env["OTEL_EXPORTER_OTLP_COMPRESSION"];
});

/** Exports a parent, a child (an error, with a link) and a counter tick, then shuts down (which flushes). */
async function exportProbe(serviceName: string) {
  const telemetry = await startTelemetry({ serviceName, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } });
  const linked = telemetry.tracer.startSpan("create payments.v1", { kind: SpanKind.PRODUCER });
  linked.end();
  const parent = telemetry.tracer.startSpan("settle batch 2026-11-24", { kind: SpanKind.SERVER });
  const child = telemetry.tracer.startSpan(
    "process payments.v1",
    { kind: SpanKind.CONSUMER, links: [{ context: linked.spanContext() }], attributes: { "tributary.order_id": "ord-1", "messaging.kafka.offset": 42 } },
    trace.setSpan(context.active(), parent),
  );
  child.setStatus({ code: SpanStatusCode.ERROR, message: "ledger refused" });
  child.end();
  parent.end();
  telemetry.meter.createCounter("otlp_probe.ticks").add(1);
  await telemetry.shutdown();
  return { linked: linked.spanContext(), parent: parent.spanContext(), child: child.spanContext() };
}

describe("OTLP export", () => {
  it("sends spans over OTLP/HTTP protobuf to OTEL_EXPORTER_OTLP_ENDPOINT from the env it was given, with parents, kinds, status and links", async () => {
    const started = BigInt(Date.now()) * 1_000_000n;
    const ids = await exportProbe("otlp-probe");
    const spans = await receiver.waitFor((received) => received.length >= 3, "the probe's three spans", 10_000);
    expect(receiver.rejected()).toEqual([]);
    expect(spans).toHaveLength(3);
    const byName = new Map(spans.map((span) => [span.name, span]));
    const parent = byName.get("settle batch 2026-11-24");
    const child = byName.get("process payments.v1");
    expect(parent).toMatchObject({
      serviceName: "otlp-probe",
      traceId: ids.parent.traceId,
      spanId: ids.parent.spanId,
      parentSpanId: undefined,
      kind: "server",
      status: { code: "unset", message: "" },
      links: [],
    });
    expect(child).toMatchObject({
      serviceName: "otlp-probe",
      traceId: ids.parent.traceId,
      spanId: ids.child.spanId,
      parentSpanId: ids.parent.spanId,
      kind: "consumer",
      status: { code: "error", message: "ledger refused" },
      attributes: { "tributary.order_id": "ord-1", "messaging.kafka.offset": 42 },
      links: [{ traceId: ids.linked.traceId, spanId: ids.linked.spanId }],
    });
    expect(byName.get("create payments.v1")).toMatchObject({ kind: "producer", traceId: ids.linked.traceId, spanId: ids.linked.spanId });
    for (const span of spans) {
      expect(span.startTimeUnixNano).toBeGreaterThanOrEqual(started - 1_000_000_000n);
      expect(span.endTimeUnixNano).toBeGreaterThanOrEqual(span.startTimeUnixNano);
    }
    // Metrics take the same endpoint, on their own path.
    expect(receiver.metricRequests().some((body) => body.includes("otlp_probe.ticks"))).toBe(true);
    // Uncompressed unless told (OTEL_EXPORTER_OTLP_COMPRESSION's default is none).
    expect(new Set(receiver.requests().map((r) => `${r.path} ${r.contentEncoding} ${r.status}`))).toEqual(new Set(["/v1/traces identity 200", "/v1/metrics identity 200"]));
  });

  it("sends the same spans gzipped when OTEL_EXPORTER_OTLP_COMPRESSION=gzip (which the exporters read from process.env)", async () => {
    process.env["OTEL_EXPORTER_OTLP_COMPRESSION"] = "gzip";
    const ids = await exportProbe("otlp-gzip-probe");
    const spans = await receiver.waitFor((received) => received.length >= 3, "the probe's three gzipped spans", 10_000);
    expect(receiver.rejected()).toEqual([]);
    expect(spans.find((span) => span.name === "process payments.v1")).toMatchObject({
      serviceName: "otlp-gzip-probe",
      spanId: ids.child.spanId,
      parentSpanId: ids.parent.spanId,
    });
    expect(new Set(receiver.requests().map((r) => `${r.path} ${r.contentEncoding} ${r.status}`))).toEqual(new Set(["/v1/traces gzip 200", "/v1/metrics gzip 200"]));
  });

  it("sends nothing anywhere when the env has no endpoint", async () => {
    const telemetry = await startTelemetry({ serviceName: "otlp-silent", env: {} });
    telemetry.tracer.startSpan("quiet").end();
    await telemetry.shutdown();
    expect(receiver.spans()).toEqual([]);
    expect(receiver.requests()).toEqual([]);
  });
});
