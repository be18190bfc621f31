/**
 * The order service and settlement as their own processes for `npm run bench -- e2e`, started as
 * apps/cli's `startOrderProcess` and `startSettlementProcess` start them (the same entry, working
 * directory, loader and environment) but with Node flags of the bench's choosing: those two take
 * no `extraNodeArgs` (payment-routing's does) and are not on @tributary/cli's public surface, and
 * Node refuses `--cpu-prof` in NODE_OPTIONS. Keep the environment in step with
 * apps/cli/src/stack/stack-services.ts.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { StackContext, StackService } from "@tributary/cli";
import { databaseUrl } from "@tributary/local-postgres";
import { freeLocalPort, startServiceProcess } from "@tributary/service-process";

/** The flags every service process runs with (the packages' `npm start`), then the bench's own. */
function nodeArgsWith(extraNodeArgs: readonly string[]): readonly string[] | undefined {
  if (extraNodeArgs.length === 0) return undefined; // the service-process default, as the stack has it
  return ["--import", "tsx", "--import", "@tributary/telemetry/register", "--conditions=source", ...extraNodeArgs];
}

/** The order service (OrderPlaced in on orders.inbound.v1, OrderAccepted out on orders.v1). */
export async function startOrderService(context: StackContext, operatorToken: string, extraNodeArgs: readonly string[]): Promise<StackService> {
  const grpcAddress = `127.0.0.1:${await freeLocalPort()}`;
  const healthAddress = `127.0.0.1:${await freeLocalPort()}`;
  const scopes = ["orders:write", "orders:read"];
  const nodeArgs = nodeArgsWith(extraNodeArgs);
  const service = await startServiceProcess({
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
    ...(nodeArgs === undefined ? {} : { nodeArgs }),
  });
  return { name: "order", process: service, grpcAddress, healthAddress, operatorToken, operatorScopes: scopes };
}

/** Settlement (PaymentCaptured in on payments.v1, the capture's journal entry and postings out). */
export async function startSettlementService(context: StackContext, operatorToken: string, extraNodeArgs: readonly string[]): Promise<StackService> {
  const grpcAddress = `127.0.0.1:${await freeLocalPort()}`;
  const healthAddress = `127.0.0.1:${await freeLocalPort()}`;
  const scopes = ["settlement:read", "settlement:records", "settlement:close"];
  // The stack's second token is the reconciliation workers'; none run here, but the service's
  // settings are the stack's.
  const reconciliationToken = randomBytes(24).toString("base64url");
  const tokens = [
    `${operatorToken}:stack-operator:${scopes.join("+")}:merchants=*:providers=*`,
    `${reconciliationToken}:reconciliation:settlement:records:providers=alipay|wechat_pay|unionpay|jd_pay|ecny`,
  ];
  const nodeArgs = nodeArgsWith(extraNodeArgs);
  const service = await startServiceProcess({
    name: "settlement",
    entry: join(context.repoRoot, "services/settlement/src/main.ts"),
    cwd: join(context.repoRoot, "services/settlement"),
    env: {
      ...process.env,
      TRIBUTARY_TRACES_DIR: context.tracesDir,
      KAFKA_BROKERS: context.brokers.join(","),
      SETTLEMENT_DATABASE_URL: databaseUrl(context.postgresServerUrl, `tributary_settlement${context.databaseSuffix}`),
      SETTLEMENT_GRPC_ADDRESS: grpcAddress,
      SETTLEMENT_HEALTH_ADDRESS: healthAddress,
      SETTLEMENT_AUTH_TOKENS: tokens.join(","),
    },
    healthAddress,
    logFile: join(context.logDir, "settlement.log"),
    ...(nodeArgs === undefined ? {} : { nodeArgs }),
  });
  return { name: "settlement", process: service, grpcAddress, healthAddress, operatorToken, operatorScopes: scopes };
}
