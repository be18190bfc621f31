/**
 * The reconciliation worker's composition root, one process per provider
 * (`node … src/main.ts --provider wechat`) — or one process for several (`--provider
 * wechat,alipay`, each worker still its own consumer group, credentials and runtime; the local
 * stack does this to start one Node process instead of five) — and with the CLI the only places that read
 * `process.env` (see README.md for every variable). The service kit validates the settings,
 * starts telemetry first, and stops everything in reverse order on SIGINT/SIGTERM.
 */
import { Command } from "commander";
import type { ProviderId } from "@tributary/contracts";
import { kafkaConfigSpecs, kafkaSettingsFrom, positiveInt, postgresUrl, runServiceMain, str, tokenTable } from "@tributary/service-kit";
import { parseProviderName } from "./provider-name.js";
import { readSourceConfig } from "./source-config-file.js";

const options = new Command("reconciliation-worker")
  .requiredOption("--provider <provider>", "the provider this worker reconciles: wechat, alipay, unionpay, jdpay, ecny (or its id); several separated by commas")
  .parse(process.argv)
  .opts<{ provider: string }>();
const providers: ProviderId[] = [];
for (const name of options.provider.split(",").map((part) => part.trim())) {
  const provider = parseProviderName(name);
  if (provider === undefined) {
    console.error(`✗ reconciliation: --provider ${name} is not a provider (wechat, alipay, unionpay, jdpay, ecny)`);
    process.exit(1);
  }
  if (!providers.includes(provider)) providers.push(provider);
}

await runServiceMain({
  name: `reconciliation-${providers.join("+")}`,
  env: process.env,
  specs: {
    ...kafkaConfigSpecs,
    RECONCILIATION_DATABASE_URL: postgresUrl({ default: "postgresql://postgres@127.0.0.1:5432/tributary_reconciliation" }),
    RECONCILIATION_SOURCE_CONFIG: str({ desc: "path of the JSON file with this provider's download credentials (see README); with several providers, {provider} in it is each provider's id", example: "/etc/tributary/wechat-bill.json" }),
    RECONCILIATION_HEALTH_ADDRESS: str({ default: "", desc: "host:port of HTTP /livez and /readyz; empty for none" }),
    RECONCILIATION_EXCEPTION_AFTER_DAYS: positiveInt({ default: 3 }),
    RECONCILIATION_LOCAL_BILL_ROOT: str({ default: "", desc: "folder StatementAvailable may name local bill files in; empty refuses local files" }),
    RECONCILIATION_GRPC_ADDRESS: str({ default: "", desc: "host:port of ReconciliationService (list / resolve exceptions); empty for none" }),
    RECONCILIATION_AUTH_TOKENS: tokenTable({ default: {}, example: "s3cret:finance-li:recon:read+recon:resolve:providers=wechat_pay" }),
    RECONCILIATION_SETTLEMENT_ADDRESS: str({ default: "", desc: "host:port of settlement's gRPC SettlementService (our records via StreamRecords); empty reads this service's ledger_records table" }),
    RECONCILIATION_SETTLEMENT_TOKEN: str({ default: "", desc: "bearer token with settlement:records for these providers (providers=<id>|…); required with RECONCILIATION_SETTLEMENT_ADDRESS" }),
  },
  start: async (config) => {
    const { startReconciliationWorker } = await import("./reconciliation-worker.js");
    const { createSettlementLedgerRecords } = await import("./adapters/grpc/settlement-ledger-records.js");
    if (config.RECONCILIATION_SETTLEMENT_ADDRESS !== "" && config.RECONCILIATION_SETTLEMENT_TOKEN === "") {
      throw new Error("RECONCILIATION_SETTLEMENT_TOKEN is required with RECONCILIATION_SETTLEMENT_ADDRESS (a token with settlement:records for this provider)");
    }
    const ledger =
      config.RECONCILIATION_SETTLEMENT_ADDRESS === ""
        ? undefined
        : createSettlementLedgerRecords({ address: config.RECONCILIATION_SETTLEMENT_ADDRESS, bearerToken: config.RECONCILIATION_SETTLEMENT_TOKEN });
    if (providers.length > 1 && !config.RECONCILIATION_SOURCE_CONFIG.includes("{provider}")) {
      throw new Error("RECONCILIATION_SOURCE_CONFIG must contain {provider} when --provider names several providers");
    }
    // One after another: the last one's health endpoint (the only one) turns ready once all are.
    const workers: Array<Awaited<ReturnType<typeof startReconciliationWorker>>> = [];
    try {
      for (const [index, provider] of providers.entries()) {
        const last = index === providers.length - 1;
        workers.push(
          await startReconciliationWorker({
            databaseUrl: config.RECONCILIATION_DATABASE_URL,
            kafka: kafkaSettingsFrom(config),
            source: await readSourceConfig(config.RECONCILIATION_SOURCE_CONFIG.replaceAll("{provider}", provider), provider),
            matchConfig: { exceptionAfterDays: config.RECONCILIATION_EXCEPTION_AFTER_DAYS },
            ...(ledger === undefined ? {} : { ledger }),
            ...(config.RECONCILIATION_HEALTH_ADDRESS === "" || !last ? {} : { healthAddress: config.RECONCILIATION_HEALTH_ADDRESS }),
            // One ReconciliationService for the process (the queue is shared), on the last worker.
            ...(config.RECONCILIATION_GRPC_ADDRESS === "" || !last ? {} : { grpc: { address: config.RECONCILIATION_GRPC_ADDRESS, tokens: config.RECONCILIATION_AUTH_TOKENS } }),
            ...(config.RECONCILIATION_LOCAL_BILL_ROOT === "" ? {} : { localBillRoot: config.RECONCILIATION_LOCAL_BILL_ROOT }),
          }),
        );
      }
    } catch (error) {
      for (const worker of workers.reverse()) await worker.stop();
      throw error;
    }
    const health = workers.at(-1)?.healthAddress;
    return {
      description: `reconciliation worker for ${providers.join(", ")} on statements.v1, our records from ${config.RECONCILIATION_SETTLEMENT_ADDRESS === "" ? "the ledger_records table" : `settlement at ${config.RECONCILIATION_SETTLEMENT_ADDRESS}`}${health === undefined ? "" : `, health on http://${health}/readyz`}`,
      stop: async () => {
        for (const worker of [...workers].reverse()) await worker.stop();
      },
    };
  },
});
