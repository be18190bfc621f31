import { describe, expect, it } from "vitest";
import { isInfrastructureError } from "./is-infrastructure-error.js";
import { isTransactionConflict } from "./is-transaction-conflict.js";

const withCode = (code: string) => Object.assign(new Error("driver"), { code });

describe("isTransactionConflict", () => {
  it.each(["40001", "40P01"])("treats SQLSTATE %s as a conflict to retry, not as an outage", (code) => {
    expect(isTransactionConflict(withCode(code))).toBe(true);
    expect(isInfrastructureError(withCode(code))).toBe(false);
  });

  it("looks through causes and AggregateError, and stops on a cycle", () => {
    expect(isTransactionConflict(new Error("apply payment", { cause: withCode("40P01") }))).toBe(true);
    expect(isTransactionConflict(new AggregateError([withCode("40001")], "tx"))).toBe(true);
    const cyclic = new Error("a");
    (cyclic as { cause?: unknown }).cause = new Error("b", { cause: cyclic });
    expect(isTransactionConflict(cyclic)).toBe(false);
  });

  it.each(["23505", "40002", "40003", "57P01", "22P02"])("leaves SQLSTATE %s alone", (code) => {
    expect(isTransactionConflict(withCode(code))).toBe(false);
  });

  it("leaves non-errors alone", () => {
    expect(isTransactionConflict("40001")).toBe(false);
    expect(isTransactionConflict(undefined)).toBe(false);
    expect(isTransactionConflict(new Error("could not serialize access"))).toBe(false);
  });
});
