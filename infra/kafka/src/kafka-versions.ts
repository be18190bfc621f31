import { fileURLToPath } from "node:url";
import { LocalKafkaError } from "./local-kafka-error.js";

/**
 * The Kafka release used when the caller names none. 3.9.x is the line kafkajs 2.2.4 is known
 * to work with; infra/kafka/pom.xml carries the same pin as its default.
 */
export const DEFAULT_KAFKA_VERSION = "3.9.2";

/**
 * What differs between Kafka release lines for the launcher: which Maven profile adds the
 * logging binding, how the JVM is told where the logging config is, and whether the 4.x share
 * coordinator settings must be lowered on a single node.
 */
export type KafkaVersionInfo = {
  readonly version: string;
  readonly mavenProfile: string;
  /** Extra `-D` flags for mvn (the log4j 2 release matching this Kafka patch). */
  readonly mavenProperties: Readonly<Record<string, string>>;
  /** The `-D…` JVM flag that points the broker's logging at our config file. */
  readonly loggingJvmFlag: string;
  readonly hasShareCoordinator: boolean;
};

const configDir = fileURLToPath(new URL("../config/", import.meta.url));
const log4j1Flag = `-Dlog4j.configuration=file:${configDir}log4j-3.9.properties`;
const log4j2Flag = `-Dlog4j2.configurationFile=${configDir}log4j2-4.x.properties`;

/** log4j 2 release per 4.x patch, as Kafka's own build pins it; later patches use the last known. */
const log4j2ByVersion: Readonly<Record<string, string>> = {
  "4.0.0": "2.24.3",
  "4.0.1": "2.24.3",
  "4.1.0": "2.24.3",
  "4.1.1": "2.24.3",
  "4.1.2": "2.25.3",
};

/**
 * Maps a Kafka version such as "3.9.2" or "4.1.2" to how the launcher fetches and runs it.
 * Only the lines we have a logging profile for are accepted; others fail with
 * `unsupported_version` rather than starting a broker whose fatal errors would go to no-op slf4j.
 */
export function kafkaVersionInfo(version: string): KafkaVersionInfo {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  const line = match === null ? undefined : `${match[1]}.${match[2]}`;
  switch (line) {
    case "3.9":
      return {
        version,
        mavenProfile: "kafka-3.9",
        mavenProperties: {},
        loggingJvmFlag: log4j1Flag,
        hasShareCoordinator: false,
      };
    case "4.0":
    case "4.1":
      return {
        version,
        mavenProfile: `kafka-${line}`,
        mavenProperties: { "log4j2.version": log4j2ByVersion[version] ?? "2.25.3" },
        loggingJvmFlag: log4j2Flag,
        hasShareCoordinator: true,
      };
    // Not x.y.z at all, or a line we have no logging profile for.
    case undefined:
    default:
      throw new LocalKafkaError(
        "unsupported_version",
        `Kafka version "${version}" is not supported by the local launcher: use 3.9.x, 4.0.x or 4.1.x (default ${DEFAULT_KAFKA_VERSION})`,
      );
  }
}
