/**
 * gRPC server metrics: every call, answered by a handler or refused by the auth interceptor, is
 * counted in `rpc.server.call.duration` by service, method and final status code.
 */
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader, type HistogramMetricData } from "@opentelemetry/sdk-metrics";
import { err, ok } from "@tributary/result";
import { startTelemetry, type Telemetry } from "@tributary/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeClient, Code, createClient, createServer, RpcError, type RpcServer } from "@tributary/grpc";
import { EchoService } from "./gen/tributary/testing/v1/echo_pb.js";

type EchoError = { readonly code: "invalid_text"; readonly message: string };

const TOKEN = "metrics-token-0123456789";
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
let telemetry: Telemetry;
let server: RpcServer;
let port = 0;

beforeAll(async () => {
  telemetry = await startTelemetry({
    serviceName: "grpc-metrics-test",
    metricReaders: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })],
  });
  server = createServer({ tokens: { [TOKEN]: { id: "caller", scopes: ["echo:read"], grants: {} } }, logger: { error: () => {} } });
  server.addService(
    EchoService,
    {
      async echo(request) {
        if (request.text === "") return err<EchoError>({ code: "invalid_text", message: "empty" });
        return ok({ text: request.text });
      },
      async *echoStream(request) {
        for (let index = 0; index < request.count; index += 1) yield { text: request.text, index };
      },
    },
    { access: { echo: ["echo:read"], echoStream: ["echo:read"] }, errors: { invalid_text: Code.InvalidArgument } },
  );
  port = await server.listen("127.0.0.1:0");
});

afterAll(async () => {
  await server.shutdown();
  await telemetry.shutdown();
});

/** Calls counted so far, keyed `method code`. */
async function callCounts(): Promise<Map<string, number>> {
  await telemetry.forceFlush();
  const metric = exporter
    .getMetrics()
    .at(-1)
    ?.scopeMetrics.flatMap((scope) => scope.metrics)
    .find((m) => m.descriptor.name === "rpc.server.call.duration") as HistogramMetricData | undefined;
  const counts = new Map<string, number>();
  for (const point of metric?.dataPoints ?? []) {
    expect(point.attributes["rpc.system"]).toBe("grpc");
    expect(point.attributes["rpc.service"]).toBe("tributary.testing.v1.EchoService");
    counts.set(`${String(point.attributes["rpc.method"])} ${String(point.attributes["rpc.grpc.status_code"])}`, point.value.count);
  }
  return counts;
}

describe("gRPC server metrics", () => {
  it("counts calls by method and final code, refusals by the auth interceptor included", async () => {
    const client = createClient(EchoService, `127.0.0.1:${port}`, { bearerToken: TOKEN, defaultDeadlineMs: 5_000 });
    const stranger = createClient(EchoService, `127.0.0.1:${port}`, { bearerToken: "unknown-token-0123456789", defaultDeadlineMs: 5_000 });
    try {
      await client.echo({ text: "a" });
      await client.echo({ text: "b" });
      await expect(client.echo({ text: "" })).rejects.toBeInstanceOf(RpcError);
      await expect(stranger.echo({ text: "c" })).rejects.toMatchObject({ code: Code.Unauthenticated });
      for await (const _ of client.echoStream({ text: "s", count: 2 })) void _;
    } finally {
      closeClient(client);
      closeClient(stranger);
    }
    expect(Object.fromEntries(await callCounts())).toEqual({
      [`Echo 0`]: 2,
      [`Echo ${Code.InvalidArgument}`]: 1,
      [`Echo ${Code.Unauthenticated}`]: 1,
      [`EchoStream 0`]: 1,
    });
  });
});
