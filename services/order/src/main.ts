/**
 * The order service's composition root and the only place that reads `process.env`:
 * `ORDER_DATABASE_URL`, `KAFKA_BROKERS`, `ORDER_GRPC_ADDRESS`, `ORDER_AUTH_TOKENS`, and
 * `OTEL_EXPORTER_OTLP_ENDPOINT` for telemetry (see README.md). Run it with the ESM loader hook
 * (`--import @tributary/telemetry/register`). Stops cleanly on SIGINT / SIGTERM.
 */
import { startTelemetry } from "@tributary/telemetry";

const env = process.env;
// Telemetry first: the global tracer/meter providers and propagators must exist before any
// module creates instruments or handles a call, hence the dynamic imports below.
const telemetry = await startTelemetry({ serviceName: "order", env });
const { parseAuthTokens } = await import("./adapters/grpc/auth-tokens.js");
const { startOrderService } = await import("./order-service.js");

const service = await startOrderService({
  databaseUrl: env["ORDER_DATABASE_URL"] ?? "postgresql://postgres@127.0.0.1:5432/tributary_order",
  kafkaBrokers: (env["KAFKA_BROKERS"] ?? "127.0.0.1:9092")
    .split(",")
    .map((broker) => broker.trim())
    .filter((broker) => broker !== ""),
  grpcAddress: env["ORDER_GRPC_ADDRESS"] ?? "127.0.0.1:50051",
  tokens: parseAuthTokens(env["ORDER_AUTH_TOKENS"] ?? ""),
});
console.log(`order service: gRPC OrderService on ${service.address}`);

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.log(`order service: ${signal}, stopping`);
  // The service first (its last spans end), then telemetry, which flushes them to the collector.
  void service
    .stop()
    .then(() => telemetry.shutdown())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
};
process.once("SIGINT", () => stop("SIGINT"));
process.once("SIGTERM", () => stop("SIGTERM"));
