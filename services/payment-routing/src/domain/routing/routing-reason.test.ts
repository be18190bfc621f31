import { describe, expect, it } from "vitest";
import { reasonOf } from "./routing-reason.js";

describe("reasonOf", () => {
  it("writes the sentence on the first read of text, once, and serializes code and text", () => {
    let writes = 0;
    const reason = reasonOf("eligible", () => {
      writes += 1;
      return "alipay passes every gate";
    });
    expect(reason.code).toBe("eligible");
    expect(writes).toBe(0);
    expect(reason.text).toBe("alipay passes every gate");
    expect(reason.text).toBe("alipay passes every gate");
    expect(writes).toBe(1);
    expect(JSON.parse(JSON.stringify(reason))).toEqual({ code: "eligible", text: "alipay passes every gate" });
  });
});
