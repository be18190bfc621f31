/**
 * The reconciliation worker's composition root, one process per provider
 * (`node … src/main.ts --provider wechat`), and with the CLI the only places that read
 * `process.env` (see README.md for every variable). The service kit validates the settings,
 * starts telemetry first, and stops everything in reverse order on SIGINT/SIGTERM.
 */
import { Command } from "commander";
import { kafkaConfigSpecs, kafkaSettingsFrom, positiveInt, postgresUrl, runServiceMain, str } from "@tributary/service-kit";
import { parseProviderName } from "./provider-name.js";
import { readSourceConfig } from "./source-config-file.js";

const options = new Command("reconciliation-worker")
  .requiredOption("--provider <provider>", "the provider this worker reconciles: wechat, alipay, unionpay, jdpay, ecny (or its id)")
  .parse(process.argv)
  .opts<{ provider: string }>();
const provider = parseProviderName(options.provider);
if (provider === undefined) {
  console.error(`✗ reconciliation: --provider ${options.provider} is not a provider (wechat, alipay, unionpay, jdpay, ecny)`);
  process.exit(1);
}

await runServiceMain({
  name: `reconciliation-${provider}`,
  env: process.env,
  specs: {
    ...kafkaConfigSpecs,
    RECONCILIATION_DATABASE_URL: postgresUrl({ default: "postgresql://postgres@127.0.0.1:5432/tributary_reconciliation" }),
    RECONCILIATION_SOURCE_CONFIG: str({ desc: "path of the JSON file with this provider's download credentials (see README)", example: "/etc/tributary/wechat-bill.json" }),
    RECONCILIATION_HEALTH_ADDRESS: str({ default: "", desc: "host:port of HTTP /livez and /readyz; empty for none" }),
    RECONCILIATION_EXCEPTION_AFTER_DAYS: positiveInt({ default: 3 }),
    RECONCILIATION_LOCAL_BILL_ROOT: str({ default: "", desc: "folder StatementAvailable may name local bill files in; empty refuses local files" }),
  },
  start: async (config) => {
    const { startReconciliationWorker } = await import("./reconciliation-worker.js");
    const worker = await startReconciliationWorker({
      databaseUrl: config.RECONCILIATION_DATABASE_URL,
      kafka: kafkaSettingsFrom(config),
      source: await readSourceConfig(config.RECONCILIATION_SOURCE_CONFIG, provider),
      matchConfig: { exceptionAfterDays: config.RECONCILIATION_EXCEPTION_AFTER_DAYS },
      ...(config.RECONCILIATION_HEALTH_ADDRESS === "" ? {} : { healthAddress: config.RECONCILIATION_HEALTH_ADDRESS }),
      ...(config.RECONCILIATION_LOCAL_BILL_ROOT === "" ? {} : { localBillRoot: config.RECONCILIATION_LOCAL_BILL_ROOT }),
    });
    return {
      description: `reconciliation worker for ${provider} on statements.v1${worker.healthAddress === undefined ? "" : `, health on http://${worker.healthAddress}/readyz`}`,
      stop: () => worker.stop(),
    };
  },
});
