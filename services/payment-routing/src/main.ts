/**
 * Payment-routing's composition root and the only place that reads `process.env` (see README.md
 * for every variable). The service kit validates the settings (a bad one stops start-up with one
 * line naming it), starts telemetry first, and stops everything in reverse order on
 * SIGINT/SIGTERM. Run it with the ESM loader hook (`--import @tributary/telemetry/register`).
 */
import { readFileSync } from "node:fs";
import type { Result } from "@tributary/result";
import type { RoutingPolicy } from "./domain/routing/routing-policy.js";
import type { InvalidPolicyError } from "./domain/routing/validate-policy.js";
import { hostPort, kafkaConfigSpecs, kafkaSettingsFrom, positiveInt, postgresUrl, runServiceMain, str, tokenTable, url } from "@tributary/service-kit";

await runServiceMain({
  name: "payment-routing",
  env: process.env,
  specs: {
    ...kafkaConfigSpecs,
    PAYMENT_ROUTING_DATABASE_URL: postgresUrl({ default: "postgresql://postgres@127.0.0.1:5432/tributary_payment_routing" }),
    PAYMENT_ROUTING_GRPC_ADDRESS: hostPort({ default: "127.0.0.1:50052" }),
    PAYMENT_ROUTING_AUTH_TOKENS: tokenTable({ example: "s3cret:checkout:payments:read:merchants=m-1|m-2" }),
    PAYMENT_ROUTING_HEALTH_ADDRESS: str({ default: "127.0.0.1:8082", desc: "host:port of HTTP /livez and /readyz; empty for none" }),
    PAYMENT_ROUTING_POOL_SIZE: positiveInt({ default: 10 }),
    PAYMENT_ROUTING_WEBHOOK_ADDRESS: str({ default: "127.0.0.1:8090", desc: "host:port the webhook server listens on; empty for none" }),
    PAYMENT_ROUTING_NOTIFY_BASE_URL: url({ default: "http://127.0.0.1:8090", desc: "base URL providers post notifications to (<base>/webhooks/<provider>): the webhook server as providers reach it" }),
    PAYMENT_ROUTING_MERCHANTS: str({ default: "", desc: "comma-separated merchant ids a routing policy may name; empty: the seed policy's merchants" }),
    PAYMENT_ROUTING_SEED_POLICY_FILE: str({ default: "", desc: "routing policy JSON written as version 1 into an empty database; empty: the built-in example policy" }),
    PAYMENT_ROUTING_GUARDRAIL_INTERVAL_MS: positiveInt({ default: 30_000 }),
    PAYMENT_ROUTING_SANDBOX_URL: url({ default: "http://127.0.0.1:8089", desc: "base URL of the provider sandbox every adapter talks to" }),
    PAYMENT_ROUTING_PROVIDER_KEYS_FILE: str({
      default: "../provider-sandbox/.keys/keys.json",
      desc: "the sandbox's keys file (merchant keys and provider public keys); never committed",
    }),
    PAYMENT_ROUTING_PROVIDER_TIMEOUT_MS: positiveInt({ default: 10_000 }),
    PAYMENT_ROUTING_FIRST_QUERY_AFTER_MS: positiveInt({ default: 30_000 }),
    PAYMENT_ROUTING_QUERY_INTERVAL_MS: positiveInt({ default: 30_000 }),
    PAYMENT_ROUTING_PAYMENT_TIMEOUT_MS: positiveInt({ default: 15 * 60_000 }),
    PAYMENT_ROUTING_SWEEP_INTERVAL_MS: positiveInt({ default: 1_000 }),
  },
  start: async (config) => {
    // Imported after telemetry has started: instruments bind to the global providers at load.
    const { startPaymentRoutingService } = await import("./payment-routing-service.js");
    const { createProviderAdapters, sandboxProviderSettings } = await import("./provider-adapters.js");
    const { examplePolicy } = await import("./domain/routing/example-policy.js");
    const { policyFromJsonText } = await import("./app/policy/policy-json.js");
    const seed = config.PAYMENT_ROUTING_SEED_POLICY_FILE === "" ? examplePolicy() : seedPolicyFrom(config.PAYMENT_ROUTING_SEED_POLICY_FILE, policyFromJsonText);
    const merchantIds =
      config.PAYMENT_ROUTING_MERCHANTS === ""
        ? seed.merchants.map((merchant) => merchant.merchantId)
        : config.PAYMENT_ROUTING_MERCHANTS.split(",").map((id) => id.trim()).filter((id) => id !== "");
    const settings = sandboxProviderSettings(config.PAYMENT_ROUTING_SANDBOX_URL, readFileSync(config.PAYMENT_ROUTING_PROVIDER_KEYS_FILE, "utf8"));
    const service = await startPaymentRoutingService({
      databaseUrl: config.PAYMENT_ROUTING_DATABASE_URL,
      kafka: kafkaSettingsFrom(config),
      adapters: createProviderAdapters(settings, { timeoutMs: config.PAYMENT_ROUTING_PROVIDER_TIMEOUT_MS }),
      policyStore: { seed, merchantIds, guardrailIntervalMs: config.PAYMENT_ROUTING_GUARDRAIL_INTERVAL_MS },
      notifyBaseUrl: config.PAYMENT_ROUTING_NOTIFY_BASE_URL,
      grpcAddress: config.PAYMENT_ROUTING_GRPC_ADDRESS,
      tokens: config.PAYMENT_ROUTING_AUTH_TOKENS,
      poolSize: config.PAYMENT_ROUTING_POOL_SIZE,
      timings: {
        firstQueryAfterMs: config.PAYMENT_ROUTING_FIRST_QUERY_AFTER_MS,
        queryIntervalMs: config.PAYMENT_ROUTING_QUERY_INTERVAL_MS,
        paymentTimeoutMs: config.PAYMENT_ROUTING_PAYMENT_TIMEOUT_MS,
      },
      workerIntervalMs: config.PAYMENT_ROUTING_SWEEP_INTERVAL_MS,
      ...(config.PAYMENT_ROUTING_HEALTH_ADDRESS === "" ? {} : { healthAddress: config.PAYMENT_ROUTING_HEALTH_ADDRESS }),
      ...(config.PAYMENT_ROUTING_WEBHOOK_ADDRESS === "" ? {} : { webhookAddress: config.PAYMENT_ROUTING_WEBHOOK_ADDRESS }),
    });
    return {
      description: [
        `payment-routing: ${service.adapters.size} provider adapters, orders.v1 consumer, payment worker and guardrail monitor running`,
        `gRPC PaymentRoutingService on ${service.grpcAddress}`,
        ...(service.webhookAddress === undefined ? [] : [`webhooks on http://${service.webhookAddress}/webhooks/<provider>`]),
        ...(service.healthAddress === undefined ? [] : [`health on http://${service.healthAddress}/readyz`]),
      ].join(", "),
      stop: () => service.stop(),
    };
  },
});

/** Reads and validates the seed policy file; a bad one stops start-up naming the file and the fields. */
function seedPolicyFrom(path: string, decode: (text: string) => Result<RoutingPolicy, InvalidPolicyError>): RoutingPolicy {
  const decoded = decode(readFileSync(path, "utf8"));
  if (!decoded.ok) {
    const problems = decoded.error.fieldViolations.map((violation) => `${violation.field}: ${violation.description}`).join("; ");
    throw new Error(`PAYMENT_ROUTING_SEED_POLICY_FILE ${path} is not a valid routing policy: ${problems}`);
  }
  return decoded.value;
}
