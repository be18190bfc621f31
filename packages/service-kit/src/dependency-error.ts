import { logLevel } from "kafkajs";
import { probePostgres } from "@tributary/local-postgres";
import { createKafkaClient, type KafkaSettings } from "./kafka-client.js";

/**
 * A dependency the service cannot work without (Postgres, Kafka) is unreachable at start-up. The
 * message is one line: which dependency, where, which setting points there, and what to do —
 * instead of a bare `connect ECONNREFUSED 127.0.0.1:5999`.
 */
export class DependencyUnavailableError extends Error {
  override readonly name = "DependencyUnavailableError";
  constructor(
    readonly dependency: "postgres" | "kafka",
    /** The environment variable that says where it is. */
    readonly setting: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function reasonOf(cause: unknown): string {
  if (cause instanceof AggregateError && cause.errors.length > 0) return reasonOf(cause.errors[0]);
  return cause instanceof Error ? cause.message : String(cause);
}

/** Connects once and runs `SELECT 1`; throws {@link DependencyUnavailableError} naming `setting`. */
export async function assertPostgresReachable(databaseUrl: string, setting: string, timeoutMs = 5_000): Promise<void> {
  const failure = await probePostgres(databaseUrl, timeoutMs);
  if (failure === undefined) return;
  const url = new URL(databaseUrl);
  throw new DependencyUnavailableError(
    "postgres",
    setting,
    `cannot reach Postgres at ${url.host}, database ${url.pathname.slice(1)} (${failure.reason}; from ${setting}): ` +
      `start Postgres (pg_ctlcluster 15 main start), create and migrate the databases (npm run db:migrate), or point ${setting} at a server you can use`,
    { cause: failure.cause },
  );
}

/**
 * Connects a short-lived, quiet admin client with few retries (~2 s in all, where the service's own
 * client would retry for a long time) and reads the cluster's brokers; throws
 * {@link DependencyUnavailableError} naming `setting`. Returns the number of live brokers.
 */
export async function assertKafkaReachable(settings: KafkaSettings, setting: string): Promise<number> {
  const brokers = settings.brokers;
  const probe = createKafkaClient("tributary-kafka-check", settings, {
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 2, initialRetryTime: 300, maxRetryTime: 1_000 },
  });
  const admin = probe.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length;
  } catch (cause) {
    throw new DependencyUnavailableError(
      "kafka",
      setting,
      `cannot reach Kafka at ${brokers.join(",")} (${reasonOf(cause)}; from ${setting}): ` +
        `start the broker (npx tsx infra/kafka/src/cli.ts start), or point ${setting} at a cluster you can use`,
      { cause },
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
