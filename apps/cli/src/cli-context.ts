import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isProviderId, providerIdFromSandboxName, type ProviderId } from "@tributary/contracts";
import { databaseUrl } from "@tributary/local-postgres";
import { readStackState, stackStatePath, type StackState } from "./stack/stack-state.js";

/** The repository this CLI belongs to (apps/cli/src → the root). */
export const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");

/** A usage or operational error: printed as one line, exit code as given (2 = usage, 1 = failed, 3 = nothing to act on). */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
  }
}

/** The one line every command prints when it needs the local stack and none runs (exit 3). */
export const NO_STACK_MESSAGE = "no local stack is running (start one with: npm start, or tributary stack up)";

/** The running stack's state (for brokers, addresses, databases), if one is up on this machine. */
export function runningStack(env: Readonly<Record<string, string | undefined>> = process.env): StackState | undefined {
  return readStackState(stackStatePath(repoRoot, env["TRIBUTARY_DATABASE_SUFFIX"] ?? ""));
}

/** The running stack's state, or a CliError (exit 3) saying how to start one. */
export function requireStack(env: Readonly<Record<string, string | undefined>> = process.env): StackState {
  const state = runningStack(env);
  if (state === undefined) throw new CliError(NO_STACK_MESSAGE, 3);
  return state;
}

/** Brokers from `--brokers`, else KAFKA_BROKERS, else the running stack's; a CliError naming all three. */
export function brokersFrom(option: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const text = option ?? env["KAFKA_BROKERS"] ?? runningStack(env)?.kafka.brokers.join(",") ?? "";
  const brokers = text.split(",").map((broker) => broker.trim()).filter((broker) => broker !== "");
  if (brokers.length === 0) {
    throw new CliError("no Kafka brokers: pass --brokers host:port, set KAFKA_BROKERS, or start the stack (tributary stack up)", 2);
  }
  return brokers;
}

/**
 * Where a service's gRPC API is and the token to call it with: flags, then env, then the running
 * stack. With none of them, exit 3 (no stack to act on); a stack whose service serves no gRPC API
 * (started by an older CLI) is exit 3 too, saying to restart it.
 */
export function serviceEndpoint(
  service: string,
  options: { readonly address?: string; readonly token?: string },
  env: Readonly<Record<string, string | undefined>> = process.env,
): { readonly address: string; readonly token: string } {
  const stack = runningStack(env);
  const variable = service.toUpperCase().replaceAll("-", "_");
  const address = options.address ?? env[`${variable}_ADDRESS`] ?? stack?.services.find((entry) => entry.name === service)?.grpcAddress;
  const token = options.token ?? env["TRIBUTARY_TOKEN"] ?? stack?.operatorToken;
  if (address === undefined) {
    if (stack === undefined) throw new CliError(`${NO_STACK_MESSAGE}; or pass --address host:port (or set ${variable}_ADDRESS) for ${service}`, 3);
    throw new CliError(`the running stack's ${service} serves no gRPC API (it was started by an older tributary: restart it with tributary stack down, then up), or pass --address host:port`, 3);
  }
  if (token === undefined) throw new CliError(`no bearer token for ${service}: pass --token, set TRIBUTARY_TOKEN, or start the stack`, 2);
  return { address, token };
}

/**
 * The URL of a service's database in the running stack (`--database-url` wins): the stack's
 * database named `tributary_<service>` (with the stack's suffix).
 */
export function stackDatabaseUrl(service: string, explicit: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (explicit !== undefined) return explicit;
  const state = runningStack(env);
  if (state === undefined) throw new CliError(`${NO_STACK_MESSAGE}; or pass --database-url`, 3);
  const name = `tributary_${service.replaceAll("-", "_")}`;
  const database = state.postgres.databases.find((candidate) => candidate === name || candidate.startsWith(`${name}_`));
  if (database === undefined) throw new CliError(`the stack has no database for service ${service} (it has ${state.postgres.databases.join(", ")})`, 2);
  return databaseUrl(state.postgres.serverUrl, database);
}

/** A provider named on the command line, by id (`wechat_pay`) or short name (`wechat`); a usage error otherwise. */
export function providerArgument(text: string): ProviderId {
  const id = isProviderId(text) ? text : providerIdFromSandboxName(text);
  if (id === undefined) throw new CliError(`--provider ${JSON.stringify(text)} is not a provider: alipay, wechat_pay (wechat), unionpay, jd_pay (jdpay) or ecny`, 2);
  return id;
}

/** A business day `YYYY-MM-DD` that exists on the calendar; a usage error otherwise. */
export function dateArgument(text: string, option = "--date"): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const real = match !== null && new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))).toISOString().slice(0, 10) === text;
  if (!real) throw new CliError(`${option} must be a day YYYY-MM-DD (Asia/Shanghai), got ${JSON.stringify(text)}`, 2);
  return text;
}

/** JSON.stringify with bigints as decimal strings. */
export function toJson(value: unknown, space?: number): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === "bigint" ? item.toString() : item), space);
}
