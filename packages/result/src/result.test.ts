import { describe, expect, it } from "vitest";
import { err, ok, unwrap } from "@tributary/result";

describe("Result", () => {
  it("unwraps a success and crashes on a failure", () => {
    expect(unwrap(ok(42))).toBe(42);
    expect(() => unwrap(err({ code: "insufficient_funds" }))).toThrow(/insufficient_funds/);
  });
});
