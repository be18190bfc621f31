/**
 * The order service's composition root and the only place that reads `process.env`:
 * `ORDER_DATABASE_URL`, `KAFKA_BROKERS`, `ORDER_GRPC_ADDRESS`, `ORDER_AUTH_TOKENS`
 * (see README.md). Stops cleanly on SIGINT / SIGTERM.
 */
import { parseAuthTokens } from "./adapters/grpc/auth-tokens.js";
import { startOrderService } from "./order-service.js";

const env = process.env;
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
  void service.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.once("SIGINT", () => stop("SIGINT"));
process.once("SIGTERM", () => stop("SIGTERM"));
