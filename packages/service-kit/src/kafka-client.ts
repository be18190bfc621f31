import { readFileSync } from "node:fs";
import { bool, str } from "envalid";
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from "kafkajs";
import { brokerList } from "./config.js";

/** How a service reaches Kafka; TLS and SASL are passed through to kafkajs unchanged. */
export interface KafkaSettings {
  readonly brokers: readonly string[];
  /** TLS on; with `caFile`, the CA bundle that signs the brokers' certificates. */
  readonly ssl?: { readonly caFile?: string };
  readonly sasl?: { readonly mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; readonly username: string; readonly password: string };
}

/**
 * The Kafka settings every service reads, for {@link readConfig}: `KAFKA_BROKERS` (default the
 * local broker), `KAFKA_SSL`, `KAFKA_SSL_CA_FILE`, `KAFKA_SASL_MECHANISM` (plain, scram-sha-256,
 * scram-sha-512; empty = none), `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`.
 */
export const kafkaConfigSpecs = {
  KAFKA_BROKERS: brokerList({ default: ["127.0.0.1:9092"], example: "127.0.0.1:9092,127.0.0.1:9093" }),
  KAFKA_SSL: bool({ default: false }),
  KAFKA_SSL_CA_FILE: str({ default: "" }),
  KAFKA_SASL_MECHANISM: str({ default: "", choices: ["", "plain", "scram-sha-256", "scram-sha-512"] }),
  KAFKA_SASL_USERNAME: str({ default: "" }),
  KAFKA_SASL_PASSWORD: str({ default: "" }),
};

/** The values {@link kafkaConfigSpecs} produce. */
export interface KafkaConfigValues {
  readonly KAFKA_BROKERS: readonly string[];
  readonly KAFKA_SSL: boolean;
  readonly KAFKA_SSL_CA_FILE: string;
  readonly KAFKA_SASL_MECHANISM: string;
  readonly KAFKA_SASL_USERNAME: string;
  readonly KAFKA_SASL_PASSWORD: string;
}

/** Turns validated settings into {@link KafkaSettings}; a SASL mechanism without a username is refused. */
export function kafkaSettingsFrom(config: KafkaConfigValues): KafkaSettings {
  const mechanism = config.KAFKA_SASL_MECHANISM;
  if (mechanism !== "" && config.KAFKA_SASL_USERNAME === "") {
    throw new Error("KAFKA_SASL_USERNAME is required when KAFKA_SASL_MECHANISM is set");
  }
  return {
    brokers: config.KAFKA_BROKERS,
    ...(config.KAFKA_SSL ? { ssl: config.KAFKA_SSL_CA_FILE === "" ? {} : { caFile: config.KAFKA_SSL_CA_FILE } } : {}),
    ...(mechanism === "plain" || mechanism === "scram-sha-256" || mechanism === "scram-sha-512"
      ? { sasl: { mechanism, username: config.KAFKA_SASL_USERNAME, password: config.KAFKA_SASL_PASSWORD } }
      : {}),
  };
}

/** One kafkajs client for a service, with its TLS/SASL settings and quiet logs (WARN and up). */
export function createKafkaClient(clientId: string, settings: KafkaSettings, overrides: Partial<KafkaConfig> = {}): Kafka {
  const config: KafkaConfig = { clientId, brokers: [...settings.brokers], logLevel: logLevel.WARN, ...overrides };
  if (settings.ssl !== undefined) {
    config.ssl = settings.ssl.caFile === undefined ? true : { ca: [readFileSync(settings.ssl.caFile, "utf8")] };
  }
  if (settings.sasl !== undefined) config.sasl = saslOptions(settings.sasl);
  return new Kafka(config);
}

function saslOptions(sasl: NonNullable<KafkaSettings["sasl"]>): SASLOptions {
  const credentials = { username: sasl.username, password: sasl.password };
  switch (sasl.mechanism) {
    case "plain":
      return { mechanism: "plain", ...credentials };
    case "scram-sha-256":
      return { mechanism: "scram-sha-256", ...credentials };
    case "scram-sha-512":
      return { mechanism: "scram-sha-512", ...credentials };
  }
}
