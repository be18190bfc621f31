import { join } from "node:path";
import { freeLocalPort, startServiceProcess, type ServiceProcess } from "@tributary/service-process";
import { databaseUrl } from "@tributary/local-postgres";

/** What every service process of the stack is started with. */
export interface StackContext {
  readonly repoRoot: string;
  readonly brokers: readonly string[];
  readonly postgresServerUrl: string;
  readonly databaseSuffix: string;
  readonly sandboxUrl: string;
  readonly logDir: string;
  /** Where each service process writes its spans (TRIBUTARY_TRACES_DIR), for `tributary trace`. */
  readonly tracesDir: string;
}

/** One service of the stack, running as its own process. */
export interface StackService {
  readonly name: string;
  readonly process: ServiceProcess;
  readonly grpcAddress: string;
  readonly healthAddress: string;
  /** The bearer token the stack's own clients (smoke flow, CLI) use, with every scope and tenant. */
  readonly operatorToken: string;
  /** The scopes that token holds, for the summary. */
  readonly operatorScopes: readonly string[];
}

/**
 * Starts the order service as its own process (`services/order/src/main.ts` on Node with the
 * TypeScript loader and telemetry first, as `npm start -w @tributary/order` runs it) on free
 * ports, with the stack's broker and database, and waits until it is ready.
 */
export async function startOrderProcess(context: StackContext, operatorToken: string): Promise<StackService> {
  const grpcAddress = `127.0.0.1:${await freeLocalPort()}`;
  const healthAddress = `127.0.0.1:${await freeLocalPort()}`;
  const scopes = ["orders:write", "orders:read"];
  const process_ = await startServiceProcess({
    name: "order",
    entry: join(context.repoRoot, "services/order/src/main.ts"),
    cwd: join(context.repoRoot, "services/order"),
    env: {
      ...process.env,
      TRIBUTARY_TRACES_DIR: context.tracesDir,
      KAFKA_BROKERS: context.brokers.join(","),
      ORDER_DATABASE_URL: databaseUrl(context.postgresServerUrl, `tributary_order${context.databaseSuffix}`),
      ORDER_GRPC_ADDRESS: grpcAddress,
      ORDER_HEALTH_ADDRESS: healthAddress,
      ORDER_AUTH_TOKENS: `${operatorToken}:stack-operator:${scopes.join("+")}:merchants=*`,
    },
    healthAddress,
    logFile: join(context.logDir, "order.log"),
  });
  return { name: "order", process: process_, grpcAddress, healthAddress, operatorToken, operatorScopes: scopes };
}

/** The scopes of the stack operator's payment-routing token (every method, every merchant). */
const paymentRoutingScopes = ["routing:preview", "payments:read", "routing:read", "routing:admin"];

/** How the routing bench may vary the payment-routing process; the stack passes nothing. */
export interface PaymentRoutingProcessOptions {
  /**
   * Node flags after the usual ones (TypeScript from source, telemetry first — the package's
   * `npm start`), e.g. `--cpu-prof`, which Node does not take from NODE_OPTIONS.
   */
  readonly extraNodeArgs?: readonly string[];
}

/**
 * Starts payment-routing as its own process on free ports (gRPC, health, webhooks), talking to
 * the stack's sandbox with the sandbox's keys, and waits until it is ready. Providers are told
 * to notify its webhook server directly (no balancer in front locally).
 */
export async function startPaymentRoutingProcess(
  context: StackContext,
  operatorToken: string,
  providerKeysFile: string,
  options: PaymentRoutingProcessOptions = {},
): Promise<StackService> {
  const grpcAddress = `127.0.0.1:${await freeLocalPort()}`;
  const healthAddress = `127.0.0.1:${await freeLocalPort()}`;
  const webhookAddress = `127.0.0.1:${await freeLocalPort()}`;
  const service = await startServiceProcess({
    name: "payment-routing",
    entry: join(context.repoRoot, "services/payment-routing/src/main.ts"),
    cwd: join(context.repoRoot, "services/payment-routing"),
    env: {
      ...process.env,
      TRIBUTARY_TRACES_DIR: context.tracesDir,
      KAFKA_BROKERS: context.brokers.join(","),
      PAYMENT_ROUTING_DATABASE_URL: databaseUrl(context.postgresServerUrl, `tributary_payment_routing${context.databaseSuffix}`),
      PAYMENT_ROUTING_GRPC_ADDRESS: grpcAddress,
      PAYMENT_ROUTING_HEALTH_ADDRESS: healthAddress,
      PAYMENT_ROUTING_WEBHOOK_ADDRESS: webhookAddress,
      PAYMENT_ROUTING_NOTIFY_BASE_URL: `http://${webhookAddress}`,
      PAYMENT_ROUTING_SANDBOX_URL: context.sandboxUrl,
      PAYMENT_ROUTING_PROVIDER_KEYS_FILE: providerKeysFile,
      PAYMENT_ROUTING_AUTH_TOKENS: `${operatorToken}:stack-operator:${paymentRoutingScopes.join("+")}:merchants=*`,
    },
    healthAddress,
    logFile: join(context.logDir, "payment-routing.log"),
    ...(options.extraNodeArgs === undefined || options.extraNodeArgs.length === 0
      ? {}
      : { nodeArgs: ["--import", "tsx", "--import", "@tributary/telemetry/register", "--conditions=source", ...options.extraNodeArgs] }),
  });
  return { name: "payment-routing", process: service, grpcAddress, healthAddress, operatorToken, operatorScopes: paymentRoutingScopes };
}
