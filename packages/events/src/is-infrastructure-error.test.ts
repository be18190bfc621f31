import { describe, expect, it } from "vitest";
import { isInfrastructureError } from "./is-infrastructure-error.js";
import { NonRetryableError } from "./non-retryable-error.js";

const pgError = (code: string) => Object.assign(new Error("pg"), { code });

describe("isInfrastructureError", () => {
  it.each(["08006", "08001", "53300", "57P01", "57P03"])("treats SQLSTATE %s as the database being unavailable", (code) => {
    expect(isInfrastructureError(pgError(code))).toBe(true);
  });

  it("treats socket failures and pg's lost-connection errors as infrastructure", () => {
    expect(isInfrastructureError(pgError("ECONNREFUSED"))).toBe(true);
    expect(isInfrastructureError(new Error("Connection terminated unexpectedly"))).toBe(true);
  });

  it.each(["23505", "40001", "22P02", "42P01"])("leaves SQLSTATE %s to the message's retry budget", (code) => {
    expect(isInfrastructureError(pgError(code))).toBe(false);
  });

  it("leaves handler errors alone", () => {
    expect(isInfrastructureError(new Error("amount mismatch"))).toBe(false);
    expect(isInfrastructureError(new NonRetryableError("bad"))).toBe(false);
    expect(isInfrastructureError("string")).toBe(false);
  });
});
