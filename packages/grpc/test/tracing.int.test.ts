import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { err, ok } from "@tributary/result";
import { startTelemetry, type Telemetry } from "@tributary/telemetry";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { closeClient, Code, createClient, createServer, RpcError, type RpcClient, type RpcServer } from "@tributary/grpc";
import { EchoService } from "./gen/tributary/testing/v1/echo_pb.js";

type EchoError = { readonly code: "invalid_text"; readonly message: string };

const TOKEN = "trace-token-0123456789";
const spans = new InMemorySpanExporter();
let telemetry: Telemetry;
let server: RpcServer;
let client: RpcClient<typeof EchoService>;
let port = 0;
// What the handler saw: the active span and the traceparent it received.
const seen: { spanId: string | undefined; traceparent: unknown }[] = [];

beforeAll(async () => {
  telemetry = await startTelemetry({ serviceName: "grpc-trace-test", spanExporters: [spans] });
  server = createServer({
    tokens: { [TOKEN]: { id: "tracer", scopes: ["echo:read"], grants: {} } },
    logger: { error: () => {} },
  });
  server.addService(
    EchoService,
    {
      async echo(request, context) {
        seen.push({ spanId: trace.getActiveSpan()?.spanContext().spanId, traceparent: context.metadata.get("traceparent")[0] });
        if (request.text === "") return err<EchoError>({ code: "invalid_text", message: "empty" });
        if (request.text === "boom") throw new Error("bug");
        return ok({ text: request.text });
      },
      async *echoStream(request) {
        seen.push({ spanId: trace.getActiveSpan()?.spanContext().spanId, traceparent: undefined });
        for (let index = 0; index < request.count; index += 1) yield { text: request.text, index };
      },
    },
    { access: { echo: ["echo:read"], echoStream: ["echo:read"] }, errors: { invalid_text: Code.InvalidArgument } },
  );
  port = await server.listen("127.0.0.1:0");
  client = createClient(EchoService, `127.0.0.1:${port}`, { bearerToken: TOKEN, defaultDeadlineMs: 5_000 });
});

afterAll(async () => {
  closeClient(client);
  await server.shutdown();
  await telemetry.shutdown();
});

beforeEach(() => {
  spans.reset();
  seen.length = 0;
});

async function finished(): Promise<{ clientSpan: ReadableSpan; serverSpan: ReadableSpan }> {
  await telemetry.forceFlush();
  const all = spans.getFinishedSpans();
  const clientSpan = all.find((s) => s.kind === SpanKind.CLIENT);
  const serverSpan = all.find((s) => s.kind === SpanKind.SERVER);
  if (clientSpan === undefined || serverSpan === undefined) {
    throw new Error(`expected a client and a server span, got: ${all.map((s) => `${s.name}/${s.kind}`).join(", ")}`);
  }
  return { clientSpan, serverSpan };
}

describe("W3C trace context over gRPC", () => {
  it("makes the server span a child of the client span, in the caller's trace, active in the handler", async () => {
    let rootTraceId = "";
    let rootSpanId = "";
    await telemetry.tracer.startActiveSpan("checkout", async (root) => {
      rootTraceId = root.spanContext().traceId;
      rootSpanId = root.spanContext().spanId;
      await client.echo({ text: "hi" });
      root.end();
    });
    const { clientSpan, serverSpan } = await finished();

    expect(clientSpan.spanContext().traceId).toBe(rootTraceId);
    expect(clientSpan.parentSpanContext?.spanId).toBe(rootSpanId);
    expect(serverSpan.spanContext().traceId).toBe(rootTraceId);
    expect(serverSpan.parentSpanContext?.spanId).toBe(clientSpan.spanContext().spanId);
    expect(serverSpan.parentSpanContext?.isRemote).toBe(true);
    // The handler ran inside the server span, and the metadata carried the client span's context.
    expect(seen[0]?.spanId).toBe(serverSpan.spanContext().spanId);
    expect(seen[0]?.traceparent).toBe(`00-${rootTraceId}-${clientSpan.spanContext().spanId}-01`);

    expect(clientSpan.name).toBe("tributary.testing.v1.EchoService/Echo");
    expect(clientSpan.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": "tributary.testing.v1.EchoService",
      "rpc.method": "Echo",
      "rpc.grpc.status_code": 0,
      "server.address": "127.0.0.1",
      "server.port": port,
    });
    expect(serverSpan.attributes).toMatchObject({ "rpc.system": "grpc", "rpc.method": "Echo", "rpc.grpc.status_code": 0 });
    expect(clientSpan.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("starts a new trace at the client when nothing is active, and the server still joins it", async () => {
    await client.echo({ text: "alone" });
    const { clientSpan, serverSpan } = await finished();
    expect(clientSpan.parentSpanContext).toBeUndefined();
    expect(serverSpan.spanContext().traceId).toBe(clientSpan.spanContext().traceId);
    expect(serverSpan.parentSpanContext?.spanId).toBe(clientSpan.spanContext().spanId);
  });

  it("marks a caller's mistake as an error on the client span only, a server failure on both", async () => {
    await expect(client.echo({ text: "" })).rejects.toBeInstanceOf(RpcError);
    const refused = await finished();
    expect(refused.clientSpan.status.code).toBe(SpanStatusCode.ERROR);
    expect(refused.clientSpan.attributes["rpc.grpc.status_code"]).toBe(Code.InvalidArgument);
    expect(refused.serverSpan.status.code).toBe(SpanStatusCode.UNSET);
    expect(refused.serverSpan.attributes["rpc.grpc.status_code"]).toBe(Code.InvalidArgument);

    spans.reset();
    await expect(client.echo({ text: "boom" })).rejects.toMatchObject({ code: Code.Internal });
    const failed = await finished();
    expect(failed.serverSpan.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.serverSpan.attributes["rpc.grpc.status_code"]).toBe(Code.Internal);
    // The cause is recorded on the server span (for operators), never sent to the caller.
    expect(failed.serverSpan.events.map((e) => e.name)).toContain("exception");
    expect(failed.clientSpan.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("traces a server stream the same way", async () => {
    const items: unknown[] = [];
    for await (const item of client.echoStream({ text: "tick", count: 2 })) items.push(item);
    expect(items).toHaveLength(2);
    const { clientSpan, serverSpan } = await finished();
    expect(clientSpan.name).toBe("tributary.testing.v1.EchoService/EchoStream");
    expect(serverSpan.parentSpanContext?.spanId).toBe(clientSpan.spanContext().spanId);
    expect(seen[0]?.spanId).toBe(serverSpan.spanContext().spanId);
    expect(clientSpan.attributes["rpc.grpc.status_code"]).toBe(0);
  });
});
