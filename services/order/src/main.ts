/**
 * The order service's composition root and the only place that reads `process.env` (see
 * README.md for every variable). The service kit validates the settings (a bad one stops start-up
 * with one line naming it), starts telemetry first, and stops everything in reverse order on
 * SIGINT/SIGTERM. Run it with the ESM loader hook (`--import @tributary/telemetry/register`).
 */
import { hostPort, kafkaConfigSpecs, kafkaSettingsFrom, positiveInt, postgresUrl, runServiceMain, str, tokenTable } from "@tributary/service-kit";

await runServiceMain({
  name: "order",
  env: process.env,
  specs: {
    ...kafkaConfigSpecs,
    ORDER_DATABASE_URL: postgresUrl({ default: "postgresql://postgres@127.0.0.1:5432/tributary_order" }),
    ORDER_GRPC_ADDRESS: hostPort({ default: "127.0.0.1:50051" }),
    ORDER_AUTH_TOKENS: tokenTable({ example: "s3cret:checkout:orders:write+orders:read:merchants=m-1|m-2" }),
    ORDER_HEALTH_ADDRESS: str({ default: "127.0.0.1:8081", desc: "host:port of HTTP /livez and /readyz; empty for none" }),
    ORDER_POOL_SIZE: positiveInt({ default: 10 }),
  },
  start: async (config) => {
    // Imported after telemetry has started: instruments bind to the global providers at load.
    const { startOrderService } = await import("./order-service.js");
    const service = await startOrderService({
      databaseUrl: config.ORDER_DATABASE_URL,
      kafka: kafkaSettingsFrom(config),
      grpcAddress: config.ORDER_GRPC_ADDRESS,
      tokens: config.ORDER_AUTH_TOKENS,
      poolSize: config.ORDER_POOL_SIZE,
      ...(config.ORDER_HEALTH_ADDRESS === "" ? {} : { healthAddress: config.ORDER_HEALTH_ADDRESS }),
    });
    return {
      description: `gRPC OrderService on ${service.address}${service.healthAddress === undefined ? "" : `, health on http://${service.healthAddress}/readyz`}`,
      stop: () => service.stop(),
    };
  },
});
