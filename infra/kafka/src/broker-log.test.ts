import { describe, expect, it } from "vitest";
import { headlineOf, isBindFailure, meaningfulLines, overrideNamedIn } from "./broker-log.js";

const fatalLog = [
  "[2026-11-24 14:32:17,196] WARN [QuorumController id=1] Performing controller activation. (org.apache.kafka.controller.QuorumController)",
  "[2026-11-24 14:32:18,000] ERROR Exiting Kafka due to fatal exception (kafka.Kafka$)",
  "org.apache.kafka.common.config.ConfigException: Invalid value abc for configuration num.partitions: Not a number of type INT",
  "\tat org.apache.kafka.common.config.ConfigDef.parseType(ConfigDef.java:776)",
  "\tat kafka.Kafka.main(Kafka.scala)",
].join("\n");

describe("broker log reading", () => {
  it("headlines the exception that follows Kafka's fatal ERROR line", () => {
    expect(headlineOf(fatalLog)).toBe(
      "org.apache.kafka.common.config.ConfigException: Invalid value abc for configuration num.partitions: Not a number of type INT",
    );
  });

  it("drops the 'Exception in thread' prefix StorageTool's uncaught exceptions carry", () => {
    expect(headlineOf('Exception in thread "main" java.lang.IllegalArgumentException: bad id')).toBe(
      "java.lang.IllegalArgumentException: bad id",
    );
  });

  it("keeps error lines and drops stack frames", () => {
    expect(meaningfulLines(fatalLog).some((line) => line.includes("\tat "))).toBe(false);
    expect(meaningfulLines(fatalLog)).toHaveLength(2);
  });

  it("names the override a config error is about, and nothing for an unrelated failure", () => {
    expect(overrideNamedIn(fatalLog, ["log.retention.ms", "num.partitions"])).toBe("num.partitions");
    expect(overrideNamedIn("ERROR something else broke", ["num.partitions"])).toBeUndefined();
  });

  it("recognises a port taken between choosing it and binding it", () => {
    expect(isBindFailure("KafkaException: Socket server failed to bind to 127.0.0.1:9092: Address already in use.")).toBe(true);
    expect(isBindFailure(fatalLog)).toBe(false);
  });
});
