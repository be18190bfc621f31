import { createHash, createVerify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateRsaKeyPair } from "../../core/keys.js";
import { signUnionpay, unionpaySigningString, verifyUnionpay } from "./unionpay-signature.js";

const keys = generateRsaKeyPair();

describe("UnionPay signMethod=01", () => {
  it("sorts every non-empty field except signature", () => {
    expect(unionpaySigningString({ txnAmt: "100", signature: "x", accessType: "0", reqReserved: "" })).toBe("accessType=0&txnAmt=100");
  });

  it("signs the SHA-256 hex of the string with SHA256withRSA; one changed byte fails", () => {
    const params = { version: "5.1.0", encoding: "UTF-8", txnType: "01", txnAmt: "129902", merId: "777290058110048", orderId: "ORDER0001" };
    const signed = signUnionpay(params, keys.privateKeyPem, "68759663125");
    expect(signed["certId"]).toBe("68759663125");
    expect(signed["signMethod"]).toBe("01");
    const digestHex = createHash("sha256").update(unionpaySigningString(signed)).digest("hex");
    expect(createVerify("RSA-SHA256").update(digestHex).verify(keys.publicKeyPem, signed["signature"] ?? "", "base64")).toBe(true);
    expect(verifyUnionpay(signed, keys.publicKeyPem)).toBe(true);
    expect(verifyUnionpay({ ...signed, txnAmt: "129903" }, keys.publicKeyPem)).toBe(false);
    expect(verifyUnionpay({ ...signed, signMethod: "11" }, keys.publicKeyPem)).toBe(false);
  });
});
