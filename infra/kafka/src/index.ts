// The public surface of @tributary/local-kafka: a real Kafka broker (KRaft) from Maven Central
// jars, for tests and local runs without Docker. Everything else in src/ is internal.
export { startKafka, newClusterId, DEFAULT_BROKER_JVM_OPTIONS } from "./start-kafka.js";
export type { StartKafkaOptions, KafkaCluster, KafkaNode, KafkaPorts } from "./start-kafka.js";
export { ensureKafkaJars, hasKafkaJars, KAFKA_CACHE_DIR } from "./ensure-kafka-jars.js";
export type { EnsureKafkaJarsOptions } from "./ensure-kafka-jars.js";
export { DEFAULT_KAFKA_VERSION } from "./kafka-versions.js";
export { LocalKafkaError, isLocalKafkaError } from "./local-kafka-error.js";
export type { LocalKafkaErrorCode } from "./local-kafka-error.js";
export { parseOverride } from "./server-properties.js";
