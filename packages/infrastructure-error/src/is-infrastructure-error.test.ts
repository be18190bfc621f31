import { describe, expect, it } from "vitest";
import { InfrastructureError, isInfrastructureError } from "./is-infrastructure-error.js";

const withCode = (code: string) => Object.assign(new Error("driver"), { code });
const named = (name: string) => Object.assign(new Error("kafka"), { name });

describe("isInfrastructureError", () => {
  it.each(["08006", "08001", "08003", "53300", "57P01", "57P03"])("treats SQLSTATE %s as the database being unavailable", (code) => {
    expect(isInfrastructureError(withCode(code))).toBe(true);
  });

  it.each(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE"])("treats the socket failure %s as infrastructure", (code) => {
    expect(isInfrastructureError(withCode(code))).toBe(true);
  });

  it("treats pg's lost-connection and pool-timeout errors as infrastructure", () => {
    expect(isInfrastructureError(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isInfrastructureError(new Error("timeout exceeded when trying to connect"))).toBe(true);
  });

  it("treats kafkajs connection errors as infrastructure, also when wrapped after retries", () => {
    expect(isInfrastructureError(named("KafkaJSConnectionError"))).toBe(true);
    const exhausted = Object.assign(new Error("retries exceeded", { cause: named("KafkaJSRequestTimeoutError") }), {
      name: "KafkaJSNumberOfRetriesExceeded",
    });
    expect(isInfrastructureError(exhausted)).toBe(true);
    expect(isInfrastructureError(named("KafkaJSOffsetOutOfRange"))).toBe(false);
  });

  it("honours the decision of the code that made the error, and wrapped causes", () => {
    expect(isInfrastructureError(new InfrastructureError("broker gone"))).toBe(true);
    expect(isInfrastructureError(new Error("load order o-1", { cause: withCode("57P01") }))).toBe(true);
    expect(isInfrastructureError(new AggregateError([withCode("ECONNREFUSED")], "connect"))).toBe(true);
  });

  it.each(["23505", "40001", "22P02", "42P01", "55000"])("leaves SQLSTATE %s alone: it is about the statement, not the connection", (code) => {
    expect(isInfrastructureError(withCode(code))).toBe(false);
  });

  it("leaves handler errors and non-errors alone, and stops on a cause cycle", () => {
    expect(isInfrastructureError(new Error("amount mismatch"))).toBe(false);
    expect(isInfrastructureError("ECONNREFUSED")).toBe(false);
    expect(isInfrastructureError(undefined)).toBe(false);
    const cyclic = new Error("a");
    (cyclic as { cause?: unknown }).cause = new Error("b", { cause: cyclic });
    expect(isInfrastructureError(cyclic)).toBe(false);
  });
});
