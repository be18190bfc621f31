import type { TopicDefinition } from "@tributary/contracts";
import { ensureTopics, startOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from "@tributary/events";
import { createServer, type RpcLogger, type RpcServer, type TokenTable } from "@tributary/grpc";
import { metrics, type Meter } from "@opentelemetry/api";
import { activeTelemetry, createLogger, type Logger, type Telemetry } from "@tributary/telemetry";
import type { Kafka } from "kafkajs";
import pg from "pg";
import { assertKafkaReachable, assertPostgresReachable } from "./dependency-error.js";
import { startHealthServer, type HealthServer } from "./health-server.js";
import { createKafkaClient, type KafkaSettings } from "./kafka-client.js";
import { Lifecycle } from "./lifecycle.js";
import { startServiceMetrics, watchConsumersOf, type ServiceMetrics } from "./service-metrics.js";

/** What a service hands the kit; its composition root builds this from {@link readConfig}. */
export interface ServiceRuntimeOptions {
  /** The service's name: Kafka client id, outbox producer name, logger and telemetry name. */
  readonly name: string;
  /** The service's own, migrated database. */
  readonly databaseUrl: string;
  /** The variable the URL came from, named in errors (e.g. `ORDER_DATABASE_URL`). */
  readonly databaseSetting?: string;
  readonly poolSize?: number;
  readonly kafka: KafkaSettings;
  /** The variable the brokers came from, named in errors; `KAFKA_BROKERS` unless told. */
  readonly kafkaSetting?: string;
  /** Topics the service produces or consumes; provisioned from the registry at start-up. */
  readonly topics: readonly TopicDefinition[];
  /** `host:port` for HTTP `/livez`, `/readyz` and the Prometheus scrape `/metrics`; none unless told. */
  readonly healthAddress?: string;
  readonly logger?: Logger;
  /**
   * Whose instruments `/metrics` serves: the telemetry `runServiceMain` started (the process's
   * active one, looked up at each scrape) unless told.
   */
  readonly telemetry?: Pick<Telemetry, "serveMetrics">;
  /** How often the outbox, parked keys and consumer lag are read for the gauges; 5000 ms unless told. */
  readonly metricsPollIntervalMs?: number;
}

/** Options of {@link ServiceRuntime.serveGrpc}. */
export interface ServeGrpcOptions {
  readonly address: string;
  readonly tokens: TokenTable;
  /** Adds the service's gRPC services (with their access and error tables) to the server. */
  readonly register: (server: RpcServer) => void;
}

/** A served gRPC endpoint. */
export interface ServedGrpc {
  readonly port: number;
  /** `host:port` clients dial (the real port when asked for 0). */
  readonly address: string;
  readonly server: RpcServer;
}

/**
 * The running shell of a service: a checked Postgres pool and Kafka client, provisioned topics,
 * and methods that start the relay, consumers and gRPC so each is stopped in reverse start order.
 * A service's composition root is this plus its own use cases and adapters.
 */
export interface ServiceRuntime {
  readonly name: string;
  readonly pool: pg.Pool;
  readonly kafka: Kafka;
  readonly logger: Logger;
  /** The HTTP health endpoint's address (also serving `GET /metrics`), when one was asked for. */
  readonly healthAddress: string | undefined;
  /**
   * The service's own meter (`metrics.getMeter(<name>)` on the global provider) for its
   * instruments — payments by provider and outcome, breaker state — which `/metrics` then serves
   * beside the kit's.
   */
  readonly meter: Meter;
  /** The kit's standard gauges: outbox backlog and age, parked keys, consumer lag. */
  readonly metrics: ServiceMetrics;
  /** Starts the outbox relay for this service's database (producer name = the service's name). */
  startRelay(options?: Partial<Omit<OutboxRelayOptions, "pool" | "kafka" | "producerName">>): Promise<OutboxRelay>;
  /** Starts anything with a `stop()` (a consumer, a scheduler) and stops it with the rest. */
  start<C extends { stop(): Promise<void> }>(name: string, starter: () => Promise<C>): Promise<C>;
  /** Serves gRPC with bearer-token auth and the standard health service. */
  serveGrpc(options: ServeGrpcOptions): Promise<ServedGrpc>;
  /** Says start-up is complete: `/readyz` answers 200 from now on while the database answers. */
  markReady(): void;
  /** Stops everything in reverse start order; safe to call twice. */
  stop(): Promise<void>;
}

function hostOf(address: string): string {
  const colon = address.lastIndexOf(":");
  return colon < 0 ? address : address.slice(0, colon);
}

/**
 * Starts the shell of a service in this order — pool (checked with a real query), Kafka client
 * (checked against the cluster), topics (created from the registry's declarations), health
 * endpoint — and returns it. An unreachable dependency fails with a one-line
 * {@link DependencyUnavailableError} naming the setting; whatever had started is stopped again.
 */
export async function startServiceRuntime(options: ServiceRuntimeOptions): Promise<ServiceRuntime> {
  const logger = options.logger ?? createLogger({ serviceName: options.name });
  const lifecycle = new Lifecycle((component, error) => {
    logger.error({ err: error, component }, `${options.name}: error while stopping ${component}`);
  });
  let ready = false;
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
  // An idle pooled connection that Postgres drops (restart, failover, pg_terminate_backend) is
  // reported here; without a listener the pool's "error" event would crash the process. The pool
  // discards that connection and opens a new one on the next checkout.
  pool.on("error", (error) => {
    logger.warn({ err: error }, `${options.name}: an idle database connection failed`);
  });
  // The pool's listener covers idle connections only. A connection that dies while checked out
  // (a transaction in progress, the relay's session) emits "error" on its client as well as
  // failing the query in flight; without a listener that would crash the process mid-outage.
  // The query's own rejection is what the caller handles; this keeps the process alive.
  pool.on("connect", (client) => {
    client.on("error", (error) => {
      logger.warn({ err: error }, `${options.name}: a database connection in use failed`);
    });
  });
  lifecycle.add("postgres pool", () => pool.end());
  let serviceMetrics: ServiceMetrics | undefined;
  // Consumers made on this client report their group's lag without the service saying so.
  const kafka = watchConsumersOf(createKafkaClient(options.name, options.kafka), () => serviceMetrics);
  let health: HealthServer | undefined;
  try {
    await assertPostgresReachable(options.databaseUrl, options.databaseSetting ?? "the database URL");
    const kafkaSetting = options.kafkaSetting ?? "KAFKA_BROKERS";
    await assertKafkaReachable(options.kafka, kafkaSetting);
    await ensureTopics(kafka, options.topics, {
      onReducedReplication: (topic, declared, used) =>
        logger.warn({ topic, declared, used }, `${options.name}: ${topic} created with replication ${used} (declared ${declared}): the cluster has ${used} broker(s)`),
    });
    const started = startServiceMetrics({
      name: options.name,
      pool,
      kafka,
      logger,
      ...(options.metricsPollIntervalMs === undefined ? {} : { pollIntervalMs: options.metricsPollIntervalMs }),
    });
    serviceMetrics = started;
    lifecycle.add("service metrics", () => started.stop());
    if (options.healthAddress !== undefined) {
      health = await startHealthServer({
        address: options.healthAddress,
        checks: [{ name: "postgres", probe: async () => void (await pool.query("SELECT 1")) }],
        isStarted: () => ready,
        isStopping: () => lifecycle.stopping,
        metrics: (request, response) => {
          const telemetry = options.telemetry ?? activeTelemetry();
          if (telemetry === undefined) {
            response.writeHead(503, { "content-type": "text/plain" }).end("telemetry has not been started in this process (runServiceMain starts it)\n");
            return;
          }
          telemetry.serveMetrics(request, response);
        },
      });
      const server = health;
      lifecycle.add("health endpoint", () => server.close());
    }
  } catch (error) {
    await lifecycle.stop();
    throw error;
  }

  const rpcLogger: RpcLogger = {
    error: (message, { error, ...fields }) => logger.error({ ...fields, err: error }, message),
  };
  return {
    name: options.name,
    pool,
    kafka,
    logger,
    healthAddress: health?.address,
    meter: metrics.getMeter(options.name),
    metrics: serviceMetrics,
    async startRelay(relayOptions = {}) {
      const relay = await startOutboxRelay({ ...relayOptions, pool, kafka, producerName: options.name });
      lifecycle.add("outbox relay", () => relay.stop());
      return relay;
    },
    async start(name, starter) {
      const component = await starter();
      lifecycle.add(name, () => component.stop());
      return component;
    },
    async serveGrpc(grpc) {
      const server = createServer({ tokens: grpc.tokens, logger: rpcLogger });
      grpc.register(server);
      const port = await server.listen(grpc.address);
      lifecycle.add("grpc server", () => server.shutdown());
      return { port, address: `${hostOf(grpc.address)}:${port}`, server };
    },
    markReady() {
      ready = true;
    },
    stop: () => lifecycle.stop(),
  };
}
