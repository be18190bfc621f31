import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProviderId } from "@tributary/contracts";
import type { ProviderCredentials } from "@tributary/provider-sandbox";
import { freeLocalPort, startOnFreshPorts, startServiceProcess, type ServiceProcess } from "@tributary/service-process";
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
  /** `host:port` of its gRPC API; none for a worker that serves none. */
  readonly grpcAddress?: string;
  readonly healthAddress: string;
  /** The bearer token the stack's own clients (smoke flow, CLI) use, with every scope and tenant. */
  readonly operatorToken: string;
  /** The scopes that token holds, for the summary. */
  readonly operatorScopes: readonly string[];
}

/** A service of the stack that serves a gRPC API. */
export type GrpcStackService = StackService & { readonly grpcAddress: string };

/** How a bench may vary a service process; the stack passes nothing. */
export interface ServiceProcessOptions {
  /**
   * Node flags after the usual ones (TypeScript from source, telemetry first — the package's
   * `npm start`), e.g. `--cpu-prof`, which Node does not take from NODE_OPTIONS.
   */
  readonly extraNodeArgs?: readonly string[];
}

/** The caller's extra Node flags for a service process; none (the default) without. */
function nodeArgsOf(options: ServiceProcessOptions): { extraNodeArgs?: readonly string[] } {
  return options.extraNodeArgs === undefined ? {} : { extraNodeArgs: options.extraNodeArgs };
}

/**
 * Starts the order service as its own process (`services/order/src/main.ts` on Node with the
 * TypeScript loader and telemetry first, as `npm start -w @tributary/order` runs it) on free
 * ports, with the stack's broker and database, and waits until it is ready.
 */
export function startOrderProcess(context: StackContext, operatorToken: string, options: ServiceProcessOptions = {}): Promise<GrpcStackService> {
  return startOnFreshPorts(async () => {
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
      ...nodeArgsOf(options),
    });
    return { name: "order", process: process_, grpcAddress, healthAddress, operatorToken, operatorScopes: scopes };
  });
}

/** The scopes of the stack operator's payment-routing token (every method, every merchant). */
const paymentRoutingScopes = ["routing:preview", "payments:read", "routing:read", "routing:admin"];

/** How the routing bench or the day run may vary the payment-routing process; the stack passes nothing. */
export interface PaymentRoutingProcessOptions extends ServiceProcessOptions {
  /** Settings that replace the defaults, e.g. the day run's short payment timeouts. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Starts payment-routing as its own process on free ports (gRPC, health, webhooks), talking to
 * the stack's sandbox with the sandbox's keys, and waits until it is ready. Providers are told
 * to notify its webhook server directly (no balancer in front locally).
 */
export function startPaymentRoutingProcess(
  context: StackContext,
  operatorToken: string,
  providerKeysFile: string,
  options: PaymentRoutingProcessOptions = {},
): Promise<GrpcStackService> {
  return startOnFreshPorts(async () => {
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
        ...options.env,
      },
      healthAddress,
      logFile: join(context.logDir, "payment-routing.log"),
      ...nodeArgsOf(options),
    });
    return { name: "payment-routing", process: service, grpcAddress, healthAddress, operatorToken, operatorScopes: paymentRoutingScopes };
  });
}

/** The scopes of the stack operator's settlement token (finance reads, records and closing days; every merchant and provider). */
const settlementOperatorScopes = ["settlement:read", "settlement:records", "settlement:close"];

/** The reconciliation workers' settlement token: `settlement:records` for their providers only. */
export interface ReconciliationToken {
  readonly providers: readonly ProviderId[];
  readonly token: string;
}

/**
 * Starts settlement as its own process on free ports (gRPC SettlementService, health) with the
 * stack's broker and database. Its tokens: the operator's (`settlement:read` +
 * `settlement:records`, every merchant and provider) and the reconciliation workers', bound
 * to their providers (records only). The scheduled
 * close stays as settlement's main.ts has it (10 min after each 00:00 Asia/Shanghai).
 * Like every service here it starts again on fresh ports if one was taken before it bound it,
 * but a `grpcAddress` the caller gave (the workers were told it) is kept.
 */
export function startSettlementProcess(
  context: StackContext,
  operatorToken: string,
  reconciliation: ReconciliationToken,
  grpcAddress?: string,
  options: ServiceProcessOptions = {},
): Promise<GrpcStackService> {
  return startOnFreshPorts(async () => {
    const address = grpcAddress ?? `127.0.0.1:${await freeLocalPort()}`;
    const healthAddress = `127.0.0.1:${await freeLocalPort()}`;
    const tokens = [
      `${operatorToken}:stack-operator:${settlementOperatorScopes.join("+")}:merchants=*:providers=*`,
      `${reconciliation.token}:reconciliation:settlement:records:providers=${reconciliation.providers.join("|")}`,
    ];
    const service = await startServiceProcess({
      name: "settlement",
      entry: join(context.repoRoot, "services/settlement/src/main.ts"),
      cwd: join(context.repoRoot, "services/settlement"),
      env: {
        ...process.env,
        TRIBUTARY_TRACES_DIR: context.tracesDir,
        KAFKA_BROKERS: context.brokers.join(","),
        SETTLEMENT_DATABASE_URL: databaseUrl(context.postgresServerUrl, `tributary_settlement${context.databaseSuffix}`),
        SETTLEMENT_GRPC_ADDRESS: address,
        SETTLEMENT_HEALTH_ADDRESS: healthAddress,
        SETTLEMENT_AUTH_TOKENS: tokens.join(","),
      },
      healthAddress,
      logFile: join(context.logDir, "settlement.log"),
      ...nodeArgsOf(options),
    });
    return { name: "settlement", process: service, grpcAddress: address, healthAddress, operatorToken, operatorScopes: settlementOperatorScopes };
  });
}

/** The download credentials of each provider's bills, as the sandbox hands them out (the worker's RECONCILIATION_SOURCE_CONFIG). */
function sourceConfigOf(provider: ProviderId, credentials: ProviderCredentials): object {
  switch (provider) {
    case "wechat_pay":
      return credentials.wechat;
    case "alipay":
      return credentials.alipay;
    case "unionpay":
      return credentials.unionpay;
    case "jd_pay":
      return credentials.jdpay;
    case "ecny":
      return credentials.ecny;
  }
}

/**
 * Where `tributary recon run --file` puts a bill for the workers to read (their
 * RECONCILIATION_LOCAL_BILL_ROOT: a `StatementAvailable` may name only files under it); the stack
 * removes it when it stops (the worker keeps each bill it reconciled in its own database).
 */
export function reconciliationBillDir(context: Pick<StackContext, "repoRoot" | "databaseSuffix">): string {
  return join(context.repoRoot, ".tributary", `bills${context.databaseSuffix}`);
}

/** The scopes of the stack operator's reconciliation token (list and resolve exceptions; every provider). */
const reconciliationOperatorScopes = ["recon:read", "recon:resolve"];

/** Where the workers' download credentials are written; the stack removes it when it stops. */
export function reconciliationConfigDir(context: StackContext): string {
  return join(context.repoRoot, ".tributary", `reconciliation${context.databaseSuffix}`);
}

/**
 * Starts the reconciliation workers as their own process (`services/reconciliation/src/main.ts
 * --provider wechat_pay,alipay,…`): each provider's bill download credentials from the stack's
 * sandbox in a file only the owner reads (`.tributary/reconciliation<suffix>/<provider>.json`,
 * mode 0600), our side of the match from settlement's `StreamRecords` (settlement need not be up
 * yet: a worker calls it only when a bill arrives), and waits until all are ready. The process also
 * serves ReconciliationService (list / resolve exceptions) for the operator's token, and reads
 * local bills from {@link reconciliationBillDir} (for `tributary recon run --file`).
 *
 * One process holds every provider's worker (each still its own consumer group
 * `reconciliation-<provider>`, runtime, pool and credentials), not one process each as a
 * deployment would run them: on this 2-core machine five more Node processes loading TypeScript
 * doubled `npm start`'s time; one costs as much as any other service.
 */
export function startReconciliationProcess(
  context: StackContext,
  providers: readonly ProviderId[],
  credentials: ProviderCredentials,
  settlement: { readonly grpcAddress: string; readonly token: string },
  operatorToken: string,
): Promise<GrpcStackService> {
  return startOnFreshPorts(async () => {
    const healthAddress = `127.0.0.1:${await freeLocalPort()}`;
    const grpcAddress = `127.0.0.1:${await freeLocalPort()}`;
    const billDir = reconciliationBillDir(context);
    mkdirSync(billDir, { recursive: true, mode: 0o700 });
    const configDir = reconciliationConfigDir(context);
    mkdirSync(configDir, { recursive: true, mode: 0o700 });
    for (const provider of providers) {
      writeFileSync(join(configDir, `${provider}.json`), `${JSON.stringify(sourceConfigOf(provider, credentials), null, 2)}\n`, { mode: 0o600 });
    }
    const service = await startServiceProcess({
      name: "reconciliation",
      entry: join(context.repoRoot, "services/reconciliation/src/main.ts"),
      cwd: join(context.repoRoot, "services/reconciliation"),
      args: ["--provider", providers.join(",")],
      env: {
        ...process.env,
        TRIBUTARY_TRACES_DIR: context.tracesDir,
        KAFKA_BROKERS: context.brokers.join(","),
        RECONCILIATION_DATABASE_URL: databaseUrl(context.postgresServerUrl, `tributary_reconciliation${context.databaseSuffix}`),
        RECONCILIATION_HEALTH_ADDRESS: healthAddress,
        RECONCILIATION_SOURCE_CONFIG: join(configDir, "{provider}.json"),
        RECONCILIATION_SETTLEMENT_ADDRESS: settlement.grpcAddress,
        RECONCILIATION_SETTLEMENT_TOKEN: settlement.token,
        RECONCILIATION_GRPC_ADDRESS: grpcAddress,
        RECONCILIATION_AUTH_TOKENS: `${operatorToken}:stack-operator:${reconciliationOperatorScopes.join("+")}:providers=*`,
        RECONCILIATION_LOCAL_BILL_ROOT: billDir,
      },
      healthAddress,
      logFile: join(context.logDir, "reconciliation.log"),
    });
    return { name: "reconciliation", process: service, grpcAddress, healthAddress, operatorToken, operatorScopes: reconciliationOperatorScopes };
  });
}
