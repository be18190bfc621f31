/**
 * @tributary/service-kit: what every Tributary service composes instead of copying — settings
 * read and validated once, the Postgres pool and Kafka client checked at start-up, topics
 * provisioned from the registry, the outbox relay, consumers, gRPC with auth and health, HTTP
 * liveness/readiness and the Prometheus scrape (with the standard gauges), telemetry, and graceful
 * shutdown in reverse start order. See README.md for how a new service is put together.
 */
export {
  bool,
  brokerList,
  ConfigError,
  hostPort,
  positiveInt,
  postgresUrl,
  readConfig,
  str,
  tokenTable,
  url,
} from "./config.js";
export {
  assertKafkaReachable,
  assertPostgresReachable,
  DependencyUnavailableError,
} from "./dependency-error.js";
export { startBackgroundPoll } from "./background-poll.js";
export type { BackgroundPoll } from "./background-poll.js";
export { startHealthServer } from "./health-server.js";
export type { HealthServer, ReadinessCheck } from "./health-server.js";
export { createKafkaClient, kafkaConfigSpecs, kafkaSettingsFrom } from "./kafka-client.js";
export type { KafkaConfigValues, KafkaSettings } from "./kafka-client.js";
export { Lifecycle } from "./lifecycle.js";
export { runServiceMain } from "./run-service-main.js";
export type { RunServiceMainOptions, StartedService } from "./run-service-main.js";
export { startServiceMetrics } from "./service-metrics.js";
export type { ServiceMetrics, ServiceMetricsOptions } from "./service-metrics.js";
export { startServiceRuntime } from "./service-runtime.js";
export type { ServeGrpcOptions, ServedGrpc, ServiceRuntime, ServiceRuntimeOptions } from "./service-runtime.js";
