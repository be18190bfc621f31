import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SpanKind, SpanStatusCode, context, trace } from "@opentelemetry/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadOrderTrace, readLocalSpans } from "./local-traces.js";
import { setOrderIdOnActiveSpan } from "./set-order-id.js";
import { startTelemetry, type Telemetry } from "./start-telemetry.js";

let dir = "";
let telemetry: Telemetry | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tributary-traces-"));
});
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe("spans to a JSON-lines file and back", () => {
  it("writes a service's finished spans under TRIBUTARY_TRACES_DIR and reads them back as a tree", async () => {
    telemetry = await startTelemetry({ serviceName: "order", env: { TRIBUTARY_TRACES_DIR: dir } });
    expect(telemetry.localTracesFile).toBe(join(dir, `order-${process.pid}.jsonl`));
    const tracer = telemetry.tracer;
    const { traceId, serverId } = await tracer.startActiveSpan("tributary.order.v1.OrderService/CreateOrder", { kind: SpanKind.SERVER }, async (server) => {
      setOrderIdOnActiveSpan("ord-42");
      await tracer.startActiveSpan("create orders.v1", { kind: SpanKind.PRODUCER, attributes: { "messaging.kafka.message.key": "ord-42", retries: 2, sampled: true } }, async (producer) => {
        producer.setStatus({ code: SpanStatusCode.ERROR, message: "broker refused" });
        producer.end();
      });
      server.end();
      return { traceId: server.spanContext().traceId, serverId: server.spanContext().spanId };
    });
    await telemetry.forceFlush();

    expect(await readdir(dir)).toEqual([`order-${process.pid}.jsonl`]);
    const lines = (await readFile(join(dir, `order-${process.pid}.jsonl`), "utf8")).trimEnd().split("\n");
    // Each line is a whole OTLP/JSON ExportTraceServiceRequest.
    expect(JSON.parse(lines[0] ?? "")).toHaveProperty("resourceSpans");

    const read = await readLocalSpans(dir);
    if (!read.ok) throw new Error(read.error.message);
    expect(read.value.unreadable).toEqual([]);
    const server = read.value.spans.find((s) => s.spanId === serverId);
    const producer = read.value.spans.find((s) => s.name === "create orders.v1");
    expect(server).toMatchObject({ traceId, parentSpanId: undefined, kind: "server", serviceName: "order", attributes: { "tributary.order_id": "ord-42" } });
    expect(producer).toMatchObject({
      traceId,
      parentSpanId: serverId,
      kind: "producer",
      status: { code: "error", message: "broker refused" },
      attributes: { "messaging.kafka.message.key": "ord-42", retries: 2, sampled: true },
    });
    expect(producer!.endTimeUnixNano).toBeGreaterThanOrEqual(producer!.startTimeUnixNano);

    const found = await loadOrderTrace(dir, "ord-42");
    if (!found.ok) throw new Error(found.error.message);
    const text = found.value.text.split("\n");
    expect(text[0]).toMatch(new RegExp(`^trace ${traceId} · \\d{4}-\\d\\d-\\d\\dT.* · 2 spans · order$`));
    expect(text[2]).toMatch(/^tributary\.order\.v1\.OrderService\/CreateOrder\s+order\s+server\s+\+0\.0ms\s+\d+\.\dms\s+ok$/);
    expect(text[3]).toMatch(/^└─ create orders\.v1\s+order\s+producer\s+\+\d+\.\dms\s+\d+\.\dms\s+ERROR: broker refused$/);
    expect(trace.getSpan(context.active())).toBeUndefined();
  });

  it("writes nothing without TRIBUTARY_TRACES_DIR", async () => {
    telemetry = await startTelemetry({ serviceName: "quiet", env: {} });
    telemetry.tracer.startSpan("nothing to see").end();
    await telemetry.forceFlush();
    expect(telemetry.localTracesFile).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });

  it("reports a torn last line (a process still writing) instead of failing the whole read", async () => {
    telemetry = await startTelemetry({ serviceName: "order", env: { TRIBUTARY_TRACES_DIR: dir } });
    telemetry.tracer.startSpan("whole").end();
    await telemetry.forceFlush();
    const { appendFile } = await import("node:fs/promises");
    await appendFile(telemetry.localTracesFile!, '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"ab');
    const read = await readLocalSpans(dir);
    if (!read.ok) throw new Error(read.error.message);
    expect(read.value.spans.map((s) => s.name)).toEqual(["whole"]);
    expect(read.value.unreadable).toEqual([{ file: `order-${process.pid}.jsonl`, line: 2, reason: expect.stringMatching(/^not JSON/) }]);
  });
});
