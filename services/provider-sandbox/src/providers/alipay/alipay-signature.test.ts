import { createSign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateRsaKeyPair } from "../../core/keys.js";
import { alipaySigningString, rsa2Sign, rsa2Verify, signedAlipayResponse } from "./alipay-signature.js";

const keys = generateRsaKeyPair();

describe("Alipay RSA2", () => {
  it("builds the sorted k=v string without sign and empty values", () => {
    const params = { method: "alipay.trade.query", app_id: "2021", sign: "xyz", biz_content: '{"out_trade_no":"A1"}', notify_url: "", charset: "utf-8" };
    expect(alipaySigningString(params)).toBe('app_id=2021&biz_content={"out_trade_no":"A1"}&charset=utf-8&method=alipay.trade.query');
  });

  it("drops sign and sign_type when verifying notifications", () => {
    expect(alipaySigningString({ b: "2", sign_type: "RSA2", sign: "s", a: "1" }, ["sign", "sign_type"])).toBe("a=1&b=2");
  });

  it("verifies a request signed by a known key, and fails when one byte changes", () => {
    const content = alipaySigningString({ app_id: "2021", method: "alipay.trade.pay", biz_content: '{"total_amount":"88.88"}' });
    // Signed independently with node:crypto, as the merchant SDK would.
    const signature = createSign("RSA-SHA256").update(content, "utf8").sign(keys.privateKeyPem, "base64");
    expect(rsa2Sign(content, keys.privateKeyPem)).toBe(signature);
    expect(rsa2Verify(content, signature, keys.publicKeyPem)).toBe(true);
    expect(rsa2Verify(content.replace("88.88", "88.89"), signature, keys.publicKeyPem)).toBe(false);
    const flipped = Buffer.from(signature, "base64");
    flipped[0] = (flipped[0] ?? 0) ^ 0x01;
    expect(rsa2Verify(content, flipped.toString("base64"), keys.publicKeyPem)).toBe(false);
    expect(rsa2Verify(content, "not base64 at all", keys.publicKeyPem)).toBe(false);
  });

  it("signs the raw JSON of the response value", () => {
    const body = signedAlipayResponse("alipay.trade.query", { code: "10000", msg: "Success" }, keys.privateKeyPem);
    const parsed = JSON.parse(body) as { sign: string };
    expect(body.startsWith('{"alipay_trade_query_response":{"code":"10000","msg":"Success"},"sign":"')).toBe(true);
    expect(rsa2Verify('{"code":"10000","msg":"Success"}', parsed.sign, keys.publicKeyPem)).toBe(true);
  });
});
