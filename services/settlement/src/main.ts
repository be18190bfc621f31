/**
 * The settlement service's composition root and the only place that reads `process.env` (see
 * README.md for every variable). The service kit validates the settings, starts telemetry first,
 * and stops everything in reverse order on SIGINT/SIGTERM.
 */
import { readFileSync } from "node:fs";
import { hostPort, kafkaConfigSpecs, kafkaSettingsFrom, positiveInt, postgresUrl, runServiceMain, str, tokenTable } from "@tributary/service-kit";

await runServiceMain({
  name: "settlement",
  env: process.env,
  specs: {
    ...kafkaConfigSpecs,
    SETTLEMENT_DATABASE_URL: postgresUrl({ default: "postgresql://postgres@127.0.0.1:5432/tributary_settlement" }),
    SETTLEMENT_GRPC_ADDRESS: hostPort({ default: "127.0.0.1:50053" }),
    SETTLEMENT_AUTH_TOKENS: tokenTable({ example: "s3cret:finance:settlement:read:merchants=*" }),
    SETTLEMENT_FEE_TERMS_FILE: str({ default: "", desc: "JSON fee terms (schedules, commissions, reserves); empty for the public default rates" }),
    SETTLEMENT_CHECKPOINT_INTERVAL_MS: positiveInt({ default: 60_000 }),
    SETTLEMENT_CLOSE_GRACE_MS: positiveInt({ default: 600_000, desc: "how long after 00:00 Asia/Shanghai a business day is closed" }),
    SETTLEMENT_CLOSE_INTERVAL_MS: positiveInt({ default: 60_000 }),
    SETTLEMENT_PAYOUT_INTERVAL_MS: positiveInt({ default: 60_000, desc: "how often reconciled batches whose settlement date has come are paid out" }),
    SETTLEMENT_HEALTH_ADDRESS: str({ default: "127.0.0.1:8083", desc: "host:port of HTTP /livez and /readyz; empty for none" }),
    SETTLEMENT_POOL_SIZE: positiveInt({ default: 10 }),
  },
  start: async (config) => {
    const { parseFeeTerms } = await import("./adapters/config/fee-terms-file.js");
    const terms = config.SETTLEMENT_FEE_TERMS_FILE === "" ? undefined : parseFeeTerms(readFileSync(config.SETTLEMENT_FEE_TERMS_FILE, "utf8"));
    // Imported after telemetry has started: instruments bind to the global providers at load.
    const { startSettlementService } = await import("./settlement-service.js");
    const service = await startSettlementService({
      databaseUrl: config.SETTLEMENT_DATABASE_URL,
      kafka: kafkaSettingsFrom(config),
      grpcAddress: config.SETTLEMENT_GRPC_ADDRESS,
      tokens: config.SETTLEMENT_AUTH_TOKENS,
      ...(terms === undefined ? {} : { terms }),
      checkpointIntervalMs: config.SETTLEMENT_CHECKPOINT_INTERVAL_MS,
      dayCloser: { intervalMs: config.SETTLEMENT_CLOSE_INTERVAL_MS, graceMs: config.SETTLEMENT_CLOSE_GRACE_MS },
      payouts: { intervalMs: config.SETTLEMENT_PAYOUT_INTERVAL_MS },
      poolSize: config.SETTLEMENT_POOL_SIZE,
      ...(config.SETTLEMENT_HEALTH_ADDRESS === "" ? {} : { healthAddress: config.SETTLEMENT_HEALTH_ADDRESS }),
    });
    return {
      description: `settlement ledger consuming payments.v1 and orders.v1, gRPC SettlementService on ${service.address}${service.healthAddress === undefined ? "" : `, health on http://${service.healthAddress}/readyz`}`,
      stop: () => service.stop(),
    };
  },
});
