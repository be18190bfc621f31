import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readStackState, stackStatePath, type StackState } from "./stack/stack-state.js";

/** The repository this CLI belongs to (apps/cli/src → the root). */
export const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");

/** A usage or operational error: printed as one line, exit code as given (2 = usage, 1 = failed). */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
  }
}

/** The running stack's state (for brokers, addresses, databases), if one is up on this machine. */
export function runningStack(env: Readonly<Record<string, string | undefined>> = process.env): StackState | undefined {
  return readStackState(stackStatePath(repoRoot, env["TRIBUTARY_DATABASE_SUFFIX"] ?? ""));
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

/** Where a service's gRPC API is and the token to call it with: flags, then env, then the running stack. */
export function serviceEndpoint(
  service: string,
  options: { readonly address?: string; readonly token?: string },
  env: Readonly<Record<string, string | undefined>> = process.env,
): { readonly address: string; readonly token: string } {
  const stack = runningStack(env);
  const variable = service.toUpperCase().replaceAll("-", "_");
  const address = options.address ?? env[`${variable}_ADDRESS`] ?? stack?.services.find((entry) => entry.name === service)?.grpcAddress;
  const token = options.token ?? env["TRIBUTARY_TOKEN"] ?? stack?.operatorToken;
  if (address === undefined) throw new CliError(`where is ${service}? pass --address host:port, set ${variable}_ADDRESS, or start the stack (tributary stack up)`, 2);
  if (token === undefined) throw new CliError(`no bearer token for ${service}: pass --token, set TRIBUTARY_TOKEN, or start the stack`, 2);
  return { address, token };
}
