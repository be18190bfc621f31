#!/usr/bin/env node
import { startSandbox } from "./sandbox.js";
import type { ProviderFaults } from "./core/faults.js";
import type { SandboxProviderName } from "./core/store.js";

/**
 * Standalone entry point (`npm start -w @tributary/provider-sandbox`). The only place that reads
 * the environment: SANDBOX_PORT (default 0 = free port), SANDBOX_HOST, SANDBOX_SEED,
 * SANDBOX_KEYS_DIR, SANDBOX_FAULTS (JSON: {"wechat": {"lostNotifyRate": 0.1}, …}),
 * SANDBOX_BUYER (JSON, partial BuyerBehaviour).
 */
async function main(): Promise<void> {
  const env = process.env;
  const sandbox = await startSandbox({
    port: env["SANDBOX_PORT"] === undefined ? 0 : Number.parseInt(env["SANDBOX_PORT"], 10),
    ...(env["SANDBOX_HOST"] === undefined ? {} : { host: env["SANDBOX_HOST"] }),
    ...(env["SANDBOX_SEED"] === undefined ? {} : { seed: env["SANDBOX_SEED"] }),
    ...(env["SANDBOX_KEYS_DIR"] === undefined ? {} : { keysDir: env["SANDBOX_KEYS_DIR"] }),
    ...(env["SANDBOX_FAULTS"] === undefined ? {} : { faults: JSON.parse(env["SANDBOX_FAULTS"]) as Partial<Record<SandboxProviderName, ProviderFaults>> }),
    ...(env["SANDBOX_BUYER"] === undefined ? {} : { buyer: JSON.parse(env["SANDBOX_BUYER"]) as object }),
  });
  console.log(JSON.stringify({ event: "provider_sandbox_started", url: sandbox.url, port: sandbox.port, health: `${sandbox.url}/health` }));
  const shutdown = (): void => {
    void sandbox.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

await main();
