import { parseTokenTable, type TokenTable } from "@tributary/grpc";
import { cleanEnv, EnvMissingError, makeValidator, type ReporterOptions } from "envalid";

export { bool, str, url } from "envalid";

/**
 * A bad or missing setting. Thrown once, at start-up, before anything connects; its message is
 * one line naming each variable, what is wrong, and what a value looks like, so a composition root
 * can print it as it is and exit.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    /** The variables that are wrong, in the order the service declares them. */
    readonly variables: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads and validates a service's settings from the environment once, with envalid: every
 * variable is declared with its validator, default and an example; any problem throws one
 * {@link ConfigError} listing every bad variable (not just the first). The result is frozen and
 * typed from the declarations. Only composition roots call this with `process.env`.
 */
export function readConfig<S extends object>(env: Readonly<Record<string, string | undefined>>, specs: S) {
  return cleanEnv(env, specs, { reporter: (report: ReporterOptions<S>) => throwConfigError(report, specs) });
}

function throwConfigError<S extends object>({ errors }: ReporterOptions<S>, specs: S): void {
  const problems = Object.entries(errors as Record<string, Error | undefined>).filter(
    (entry): entry is [string, Error] => entry[1] !== undefined,
  );
  if (problems.length === 0) return;
  const parts = problems.map(([name, error]) =>
    error instanceof EnvMissingError ? `${name} is required${describeSpec((specs as Record<string, unknown>)[name])}` : `${name}: ${error.message}`,
  );
  throw new ConfigError(
    problems.map(([name]) => name),
    `invalid configuration: ${parts.join("; ")}`,
  );
}

function describeSpec(spec: unknown): string {
  const { desc, example } = (spec ?? {}) as { desc?: string; example?: string };
  const parts = [desc, example === undefined ? undefined : `e.g. ${example}`].filter((part) => part !== undefined && part !== "");
  return parts.length === 0 ? "" : ` (${parts.join("; ")})`;
}

/** A positive integer, e.g. a pool size; decimals, signs and words are refused. */
export const positiveInt = makeValidator<number>((input) => {
  if (!/^[1-9][0-9]*$/.test(input.trim())) throw new Error(`must be a whole number ≥ 1, got "${input}"`);
  return Number.parseInt(input, 10);
});

/** `host:port`; port 0 asks the OS for a free port (tests). */
export const hostPort = makeValidator<string>((input) => {
  const value = input.trim();
  const colon = value.lastIndexOf(":");
  const port = colon < 0 ? "" : value.slice(colon + 1);
  if (colon <= 0 || !/^[0-9]{1,5}$/.test(port) || Number.parseInt(port, 10) > 65_535) {
    throw new Error(`must be host:port (e.g. 127.0.0.1:50051), got "${input}"`);
  }
  return value;
});

/** A comma-separated list of Kafka bootstrap servers, each `host:port`. */
export const brokerList = makeValidator<readonly string[]>((input) => {
  const brokers = input
    .split(",")
    .map((broker) => broker.trim())
    .filter((broker) => broker !== "");
  if (brokers.length === 0) throw new Error(`must list at least one broker as host:port[,host:port…], got "${input}"`);
  for (const broker of brokers) {
    if (!/^[^:\s]+:[0-9]{1,5}$/.test(broker)) throw new Error(`"${broker}" is not host:port`);
  }
  return Object.freeze(brokers);
});

/** A Postgres connection URL (`postgresql://` or `postgres://`). */
export const postgresUrl = makeValidator<string>((input) => {
  let parsed: URL;
  try {
    parsed = new URL(input);
  } catch {
    throw new Error(`must be a URL like postgresql://user@host:5432/database, got "${input}"`);
  }
  if (parsed.protocol !== "postgresql:" && parsed.protocol !== "postgres:") {
    throw new Error(`must start with postgresql://, got "${input}"`);
  }
  if (parsed.pathname.length <= 1) throw new Error(`must name a database (…/database), got "${input}"`);
  return input;
});

/**
 * A bearer-token table (`token:principal:scope+scope:merchants=m1|m2`, see @tributary/grpc's
 * `parseTokenTable`): every token bound to its principal, scopes and tenants. A malformed entry
 * stops start-up naming the entry, never the token.
 */
export const tokenTable = makeValidator<TokenTable>((input) => {
  const parsed = parseTokenTable(input);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
});
