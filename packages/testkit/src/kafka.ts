import { startKafka } from "@tributary/local-kafka";
import { containerRuntimeAvailable } from "./container-runtime.js";

/** A Kafka cluster a test can use, whichever way it was obtained. */
export interface KafkaEndpoint {
  /** Bootstrap servers, `host:port`. */
  readonly brokers: readonly string[];
  /** How it was obtained: `KAFKA_BROKERS`, a testcontainer, or the local jar launcher. */
  readonly source: "env" | "testcontainers" | "local";
  /** Stops what this call started; a no-op for an existing cluster. */
  stop(): Promise<void>;
}

/**
 * Image used when a Docker engine answers. @testcontainers/kafka drives Confluent's images
 * (its KRaft start-up script is theirs); Confluent Platform 7.9 ships Apache Kafka 3.9, the same
 * line as the local broker.
 */
const kafkaImage = "confluentinc/cp-kafka:7.9.0";

/**
 * Returns a real Kafka broker for tests: `KAFKA_BROKERS` first, then a testcontainer when a
 * Docker engine answers, then a single-node KRaft broker started from Maven Central jars.
 * Never an in-memory stand-in: when none of these works, it throws with what to do.
 */
export async function kafka(env: Readonly<Record<string, string | undefined>> = process.env): Promise<KafkaEndpoint> {
  const fromEnv = env["KAFKA_BROKERS"];
  if (fromEnv !== undefined && fromEnv.trim() !== "") {
    return { brokers: fromEnv.split(",").map((b) => b.trim()), source: "env", stop: async () => {} };
  }
  if (await containerRuntimeAvailable(env)) {
    const { KafkaContainer } = await import("@testcontainers/kafka");
    const container = await new KafkaContainer(kafkaImage).withKraft().start();
    return {
      brokers: [`${container.getHost()}:${container.getMappedPort(9093)}`],
      source: "testcontainers",
      stop: async () => {
        await container.stop();
      },
    };
  }
  const cluster = await startKafka({ nodes: 1 });
  return { brokers: cluster.brokers, source: "local", stop: () => cluster.stop() };
}
