import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hmacRequestMessage, hmacSign, hmacVerify } from "./hmac-signature.js";

describe("JD Pay / e-CNY HMAC-SHA256", () => {
  it("matches an independent HMAC; one changed byte fails", () => {
    const message = hmacRequestMessage("POST", "/jdpay/v1/payments", "1764000000", "n1", '{"amountMinor":"100"}');
    expect(message).toBe('POST\n/jdpay/v1/payments\n1764000000\nn1\n{"amountMinor":"100"}\n');
    const expected = createHmac("sha256", "secret").update(message).digest("hex");
    expect(hmacSign(message, "secret")).toBe(expected);
    expect(hmacVerify(message, expected, "secret")).toBe(true);
    expect(hmacVerify(message.replace("100", "101"), expected, "secret")).toBe(false);
    expect(hmacVerify(message, "zz", "secret")).toBe(false);
  });
});
