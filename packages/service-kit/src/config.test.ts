import { describe, expect, it } from "vitest";
import { brokerList, ConfigError, hostPort, positiveInt, postgresUrl, readConfig, str } from "./config.js";
import { kafkaConfigSpecs, kafkaSettingsFrom } from "./kafka-client.js";

const specs = {
  DB_URL: postgresUrl({ example: "postgresql://postgres@127.0.0.1:5432/x" }),
  GRPC_ADDRESS: hostPort({ default: "127.0.0.1:50051" }),
  POOL_SIZE: positiveInt({ default: 10 }),
  BROKERS: brokerList({ default: ["127.0.0.1:9092"] }),
  NAME: str({ default: "svc" }),
};

function configError(env: Record<string, string>): ConfigError {
  try {
    readConfig(env, specs);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("readConfig accepted the environment");
}

describe("readConfig", () => {
  it("returns typed values and defaults", () => {
    const config = readConfig({ DB_URL: "postgresql://postgres@127.0.0.1:5432/x", POOL_SIZE: "4", BROKERS: "a:1, b:2" }, specs);
    expect(config.DB_URL).toBe("postgresql://postgres@127.0.0.1:5432/x");
    expect(config.POOL_SIZE).toBe(4);
    expect(config.BROKERS).toEqual(["a:1", "b:2"]);
    expect(config.GRPC_ADDRESS).toBe("127.0.0.1:50051");
  });

  it("names every bad variable in one line, with what a good value looks like", () => {
    const error = configError({ DB_URL: "mysql://x/y", POOL_SIZE: "1.5", GRPC_ADDRESS: "localhost", BROKERS: "a" });
    expect(error.variables).toEqual(["DB_URL", "GRPC_ADDRESS", "POOL_SIZE", "BROKERS"]);
    expect(error.message).not.toContain("\n");
    expect(error.message).toContain('DB_URL: must start with postgresql://, got "mysql://x/y"');
    expect(error.message).toContain('POOL_SIZE: must be a whole number ≥ 1, got "1.5"');
    expect(error.message).toContain("GRPC_ADDRESS: must be host:port");
    expect(error.message).toContain('BROKERS: "a" is not host:port');
  });

  it("says a required variable is missing and gives its example", () => {
    const error = configError({});
    expect(error.variables).toEqual(["DB_URL"]);
    expect(error.message).toBe("invalid configuration: DB_URL is required (e.g. postgresql://postgres@127.0.0.1:5432/x)");
  });

  it.each(["0", "-3", "ten", ""])("refuses pool size %j", (value) => {
    expect(configError({ DB_URL: "postgresql://h/x", POOL_SIZE: value }).variables).toContain("POOL_SIZE");
  });
});

describe("Kafka settings", () => {
  it("passes TLS and SASL through", () => {
    const config = readConfig(
      {
        KAFKA_BROKERS: "k1:9093",
        KAFKA_SSL: "true",
        KAFKA_SASL_MECHANISM: "scram-sha-512",
        KAFKA_SASL_USERNAME: "svc",
        KAFKA_SASL_PASSWORD: "pw",
      },
      kafkaConfigSpecs,
    );
    expect(kafkaSettingsFrom(config)).toEqual({
      brokers: ["k1:9093"],
      ssl: {},
      sasl: { mechanism: "scram-sha-512", username: "svc", password: "pw" },
    });
  });

  it("refuses an unknown SASL mechanism and a mechanism without a user", () => {
    expect(() => readConfig({ KAFKA_SASL_MECHANISM: "gssapi" }, kafkaConfigSpecs)).toThrow(/KAFKA_SASL_MECHANISM/);
    expect(() => kafkaSettingsFrom(readConfig({ KAFKA_SASL_MECHANISM: "plain" }, kafkaConfigSpecs))).toThrow(
      /KAFKA_SASL_USERNAME is required/,
    );
  });
});
