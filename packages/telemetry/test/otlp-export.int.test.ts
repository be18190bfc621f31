import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startTelemetry } from "@tributary/telemetry";

/** One request the in-process OTLP receiver got. */
interface Received {
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

/** The fields of an OTLP span this test checks, decoded from the wire. */
interface DecodedSpan {
  readonly serviceName: string | undefined;
  readonly traceId: string;
  readonly spanId: string;
  readonly name: string;
}

// Field numbers from opentelemetry-proto (collector/trace/v1, trace/v1, resource/v1, common/v1).
// The exporter hand-encodes protobuf; decoding the wire format here checks what a collector sees.
function fields(bytes: Uint8Array, visit: (field: number, reader: BinaryReader, wireType: number) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (!visit(field, reader, wireType)) reader.skip(wireType);
  }
}

function decodeServiceName(resource: Uint8Array): string | undefined {
  let serviceName: string | undefined;
  fields(resource, (field, reader) => {
    if (field !== 1) return false; // Resource.attributes: KeyValue
    let key = "";
    let value: string | undefined;
    fields(reader.bytes(), (kvField, kv) => {
      if (kvField === 1) key = kv.string();
      else if (kvField === 2) {
        fields(kv.bytes(), (anyField, any) => (anyField === 1 ? ((value = any.string()), true) : false));
      } else return false;
      return true;
    });
    if (key === "service.name") serviceName = value;
    return true;
  });
  return serviceName;
}

/** ExportTraceServiceRequest → every span with its resource's service.name. */
function decodeTraceRequest(body: Uint8Array): DecodedSpan[] {
  const spans: DecodedSpan[] = [];
  fields(body, (field, reader) => {
    if (field !== 1) return false; // resource_spans
    let serviceName: string | undefined;
    const scopeSpans: Uint8Array[] = [];
    fields(reader.bytes(), (rsField, rs) => {
      if (rsField === 1) serviceName = decodeServiceName(rs.bytes());
      else if (rsField === 2) scopeSpans.push(rs.bytes());
      else return false;
      return true;
    });
    for (const scope of scopeSpans) {
      fields(scope, (ssField, ss) => {
        if (ssField !== 2) return false; // ScopeSpans.spans
        let traceId = "";
        let spanId = "";
        let name = "";
        fields(ss.bytes(), (spanField, span) => {
          if (spanField === 1) traceId = Buffer.from(span.bytes()).toString("hex");
          else if (spanField === 2) spanId = Buffer.from(span.bytes()).toString("hex");
          else if (spanField === 5) name = span.string();
          else return false;
          return true;
        });
        spans.push({ serviceName, traceId, spanId, name });
        return true;
      });
    }
    return true;
  });
  return spans;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let receiver: Server;
let endpoint = "";
const received: Received[] = [];

beforeEach(async () => {
  received.length = 0;
  receiver = createServer((request, response) => {
    void readBody(request).then((body) => {
      received.push({ path: request.url ?? "", contentType: request.headers["content-type"] ?? "", body });
      // An empty ExportTraceServiceResponse / ExportMetricsServiceResponse: full success.
      response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  receiver.listen(0, "127.0.0.1");
  await once(receiver, "listening");
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterEach(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

describe("OTLP export", () => {
  it("sends spans over OTLP/HTTP protobuf to OTEL_EXPORTER_OTLP_ENDPOINT from the env it was given", async () => {
    const telemetry = await startTelemetry({
      serviceName: "otlp-probe",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
    });
    const span = telemetry.tracer.startSpan("settle batch 2026-11-24");
    span.end();
    const counter = telemetry.meter.createCounter("otlp_probe.ticks");
    counter.add(1);
    await telemetry.shutdown();

    const traceRequests = received.filter((r) => r.path === "/v1/traces");
    expect(traceRequests.length).toBeGreaterThanOrEqual(1);
    expect(traceRequests[0]?.contentType).toBe("application/x-protobuf");
    const spans = traceRequests.flatMap((r) => decodeTraceRequest(r.body));
    expect(spans).toContainEqual({
      serviceName: "otlp-probe",
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
      name: "settle batch 2026-11-24",
    });
    // Metrics take the same endpoint, on their own path.
    const metricRequests = received.filter((r) => r.path === "/v1/metrics");
    expect(metricRequests.length).toBeGreaterThanOrEqual(1);
    expect(metricRequests.some((r) => r.body.includes("otlp_probe.ticks"))).toBe(true);
  });

  it("sends nothing anywhere when the env has no endpoint", async () => {
    const telemetry = await startTelemetry({ serviceName: "otlp-silent", env: {} });
    telemetry.tracer.startSpan("quiet").end();
    await telemetry.shutdown();
    expect(received).toEqual([]);
  });
});
