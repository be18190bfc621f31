import { postgresServerUrl, probePostgres } from "@tributary/local-postgres";
import { containerRuntimeAvailable } from "./container-runtime.js";

/** A Postgres server a test can use, whichever way it was obtained. */
export interface PostgresEndpoint {
  /** Admin URL of the server (database `postgres`). */
  readonly serverUrl: string;
  /** How it was obtained: `POSTGRES_URL` or the default local server, or a testcontainer. */
  readonly source: "env" | "local" | "testcontainers";
  /** Stops what this call started; a no-op for an existing server. */
  stop(): Promise<void>;
}

const postgresImage = "postgres:15-alpine";

/**
 * Returns a real Postgres server for tests: `POSTGRES_URL` first, then a testcontainer when a
 * Docker engine answers, then the local server on 127.0.0.1:5432. The server is checked with a
 * real connection; when it cannot be reached this throws — tests never fall back to a fake.
 */
export async function postgres(env: Readonly<Record<string, string | undefined>> = process.env): Promise<PostgresEndpoint> {
  if (env["POSTGRES_URL"] === undefined && (await containerRuntimeAvailable(env))) {
    const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
    const container = await new PostgreSqlContainer(postgresImage).start();
    const url = new URL(container.getConnectionUri());
    url.pathname = "/postgres";
    return { serverUrl: url.toString(), source: "testcontainers", stop: async () => void (await container.stop()) };
  }
  const serverUrl = postgresServerUrl(env);
  await assertReachable(serverUrl);
  return { serverUrl, source: env["POSTGRES_URL"] === undefined ? "local" : "env", stop: async () => {} };
}

async function assertReachable(serverUrl: string): Promise<void> {
  const failure = await probePostgres(serverUrl);
  if (failure === undefined) return;
  throw new Error(
    `cannot reach Postgres at ${new URL(serverUrl).host} (${failure.reason}): start it ` +
      "(pg_ctlcluster 15 main start), or set POSTGRES_URL to a server you can use",
    { cause: failure.cause },
  );
}
