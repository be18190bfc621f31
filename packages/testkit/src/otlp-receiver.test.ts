import { gzipSync } from "node:zlib";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeExportTraceServiceRequest, startOtlpReceiver, type OtlpReceiver } from "./otlp-receiver.js";

// The decoder against the real OpenTelemetry exporter's bytes is checked end to end in
// packages/telemetry/test/otlp-export.int.test.ts; here the wire layout is written field by field
// (opentelemetry-proto's numbers), including what that exporter happens not to do (the resource
// after its spans, unknown fields, a parent id sent as empty bytes), and the HTTP side.

const traceIdHex = "0af7651916cd43dd8448eb211c80319c";
const spanIdHex = "b7ad6b7169203331";
const parentIdHex = "00f067aa0ba902b7";
const linkedTraceHex = "4bf92f3577b34da6a3ce929d0e0e4736";
const linkedSpanHex = "53995c3f42cd8ad8";
const bytes = (hexText: string) => Buffer.from(hexText, "hex");

function keyValue(key: string, value: (w: BinaryWriter) => void): Uint8Array {
  const anyValue = new BinaryWriter();
  value(anyValue);
  return new BinaryWriter().tag(1, WireType.LengthDelimited).string(key).tag(2, WireType.LengthDelimited).bytes(anyValue.finish()).finish();
}

function resource(serviceName: string): Uint8Array {
  return new BinaryWriter()
    .tag(1, WireType.LengthDelimited)
    .bytes(keyValue("service.name", (w) => w.tag(1, WireType.LengthDelimited).string(serviceName)))
    .finish();
}

function span(options: { name: string; spanId: string; parentSpanId?: string; kind?: number; statusCode?: number }): Uint8Array {
  const w = new BinaryWriter()
    .tag(1, WireType.LengthDelimited).bytes(bytes(traceIdHex))
    .tag(2, WireType.LengthDelimited).bytes(bytes(options.spanId))
    .tag(3, WireType.LengthDelimited).string("vendor=1") // trace_state: skipped
    .tag(4, WireType.LengthDelimited).bytes(options.parentSpanId === undefined ? new Uint8Array() : bytes(options.parentSpanId))
    .tag(5, WireType.LengthDelimited).string(options.name)
    .tag(6, WireType.Varint).int32(options.kind ?? 5)
    .tag(7, WireType.Bit64).fixed64(1_764_600_000_123_456_789n)
    .tag(8, WireType.Bit64).fixed64(1_764_600_000_223_456_789n)
    .tag(9, WireType.LengthDelimited).bytes(keyValue("tributary.order_id", (a) => a.tag(1, WireType.LengthDelimited).string("ord-1")))
    .tag(9, WireType.LengthDelimited).bytes(keyValue("messaging.kafka.offset", (a) => a.tag(3, WireType.Varint).int64(42n)))
    .tag(9, WireType.LengthDelimited).bytes(keyValue("big", (a) => a.tag(3, WireType.Varint).int64(9_007_199_254_740_993n)))
    .tag(9, WireType.LengthDelimited).bytes(keyValue("retry", (a) => a.tag(2, WireType.Varint).bool(true)))
    .tag(9, WireType.LengthDelimited).bytes(keyValue("ratio", (a) => a.tag(4, WireType.Bit64).double(0.25)))
    .tag(9, WireType.LengthDelimited).bytes(keyValue("list", (a) => a.tag(5, WireType.LengthDelimited).bytes(new Uint8Array()))) // array: left out
    .tag(13, WireType.LengthDelimited).bytes(new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(bytes(linkedTraceHex)).tag(2, WireType.LengthDelimited).bytes(bytes(linkedSpanHex)).finish())
    .tag(16, WireType.Bit32).fixed32(1) // flags: skipped
    .tag(99, WireType.Varint).uint32(7); // a field from a newer proto: skipped
  if (options.statusCode !== undefined) {
    w.tag(15, WireType.LengthDelimited).bytes(new BinaryWriter().tag(2, WireType.LengthDelimited).string("provider refused").tag(3, WireType.Varint).int32(options.statusCode).finish());
  }
  return w.finish();
}

function scopeSpans(...spans: Uint8Array[]): Uint8Array {
  const w = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(new BinaryWriter().tag(1, WireType.LengthDelimited).string("@tributary/events").finish());
  for (const s of spans) w.tag(2, WireType.LengthDelimited).bytes(s);
  return w.finish();
}

/** Two resources: the first in the usual order, the second with its resource after its spans. */
function request(): Uint8Array {
  const first = new BinaryWriter()
    .tag(1, WireType.LengthDelimited).bytes(resource("settlement"))
    .tag(2, WireType.LengthDelimited).bytes(scopeSpans(span({ name: "process payments.v1", spanId: spanIdHex, parentSpanId: parentIdHex, statusCode: 2 })))
    .finish();
  const second = new BinaryWriter()
    .tag(2, WireType.LengthDelimited).bytes(scopeSpans(span({ name: "create payments.v1", spanId: parentIdHex, kind: 4 })))
    .tag(1, WireType.LengthDelimited).bytes(resource("payment-routing"))
    .finish();
  return new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(first).tag(1, WireType.LengthDelimited).bytes(second).finish();
}

describe("decodeExportTraceServiceRequest", () => {
  it("decodes every span with its resource's service.name, ids, parent, kind, status, times, scalar attributes and links", () => {
    const spans = decodeExportTraceServiceRequest(request());
    expect(spans).toEqual([
      {
        serviceName: "settlement",
        traceId: traceIdHex,
        spanId: spanIdHex,
        parentSpanId: parentIdHex,
        name: "process payments.v1",
        kind: "consumer",
        status: { code: "error", message: "provider refused" },
        startTimeUnixNano: 1_764_600_000_123_456_789n,
        endTimeUnixNano: 1_764_600_000_223_456_789n,
        attributes: { "tributary.order_id": "ord-1", "messaging.kafka.offset": 42, big: "9007199254740993", retry: true, ratio: 0.25 },
        links: [{ traceId: linkedTraceHex, spanId: linkedSpanHex }],
      },
      expect.objectContaining({ serviceName: "payment-routing", spanId: parentIdHex, parentSpanId: undefined, kind: "producer", status: { code: "unset", message: "" } }),
    ]);
  });

  it("refuses what is not a request: truncated bytes, a span without ids, a kind outside the enum", () => {
    const whole = request();
    expect(() => decodeExportTraceServiceRequest(whole.subarray(0, whole.length - 3))).toThrow();
    const noIds = new BinaryWriter().tag(5, WireType.LengthDelimited).string("anonymous").finish();
    const wrap = (s: Uint8Array) => new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(scopeSpans(s)).finish()).finish();
    expect(() => decodeExportTraceServiceRequest(wrap(noIds))).toThrow(/trace id/);
    expect(() => decodeExportTraceServiceRequest(wrap(span({ name: "odd", spanId: spanIdHex, kind: 9 })))).toThrow(/kind 9/);
    expect(decodeExportTraceServiceRequest(new Uint8Array())).toEqual([]);
  });
});

describe("startOtlpReceiver", () => {
  let receiver: OtlpReceiver;
  beforeEach(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(async () => {
    await receiver.stop();
  });

  const post = (path: string, body: Uint8Array, headers: Record<string, string> = { "content-type": "application/x-protobuf" }) =>
    fetch(`${receiver.endpoint}${path}`, { method: "POST", headers, body });

  it("answers a trace request 200 with an empty ExportTraceServiceResponse and keeps its spans; waitFor resolves when they arrive", async () => {
    expect(receiver.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const waiting = receiver.waitFor((spans) => spans.some((s) => s.serviceName === "settlement"), "settlement's span", 5_000);
    const response = await post("/v1/traces", request());
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/x-protobuf");
    expect((await response.arrayBuffer()).byteLength).toBe(0);
    expect((await waiting).map((s) => s.name)).toEqual(["process payments.v1", "create payments.v1"]);
    expect(receiver.spans()).toHaveLength(2);
  });

  it("takes a gzipped body (OTEL_EXPORTER_OTLP_COMPRESSION=gzip) and counts metrics requests without decoding them", async () => {
    const gzipped = await post("/v1/traces", gzipSync(request()), { "content-type": "application/x-protobuf", "content-encoding": "gzip" });
    expect(gzipped.status).toBe(200);
    expect(receiver.spans().map((s) => s.serviceName)).toEqual(["settlement", "payment-routing"]);
    expect((await post("/v1/metrics", gzipSync(new Uint8Array([1, 2, 3])), { "content-type": "application/x-protobuf", "content-encoding": "gzip" })).status).toBe(200);
    expect(receiver.metricRequests()).toEqual([Buffer.from([1, 2, 3])]);
    expect(receiver.requests()).toEqual([
      { path: "/v1/traces", contentEncoding: "gzip", status: 200 },
      { path: "/v1/metrics", contentEncoding: "gzip", status: 200 },
    ]);
    expect(receiver.rejected()).toEqual([]);
  });

  it("refuses other paths, JSON, unknown encodings and undecodable bodies, and a waiting test fails at once instead of timing out", async () => {
    // The assertion is attached before the requests, so the rejection is never unhandled.
    const waiting = expect(receiver.waitFor(() => false, "a span that never comes", 60_000)).rejects.toThrow(
      /a span that never comes, a trace request was refused: \/v1\/traces: content-type application\/json/,
    );
    expect((await post("/v1/logs", request())).status).toBe(404);
    expect((await post("/v1/traces", request(), { "content-type": "application/json" })).status).toBe(415);
    expect((await post("/v1/traces", request(), { "content-type": "application/x-protobuf", "content-encoding": "br" })).status).toBe(400);
    await waiting;
    expect((await post("/v1/traces", new Uint8Array([0x0a, 0x05, 0x01]))).status).toBe(400);
    expect(receiver.rejected()).toHaveLength(4);
    expect(receiver.requests().map((r) => r.status)).toEqual([404, 415, 400, 400]);
    expect(receiver.spans()).toEqual([]);
  });

  it("rejects a wait that times out, saying what it waited for and what did arrive", async () => {
    await post("/v1/traces", request());
    await expect(receiver.waitFor((spans) => spans.some((s) => s.serviceName === "order"), "the order service's span", 50)).rejects.toThrow(
      "OTLP receiver: still waiting for the order service's span after 50 ms (2 spans received, from payment-routing, settlement)",
    );
  });
});
