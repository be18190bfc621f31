import { createSign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateRsaKeyPair } from "../../core/keys.js";
import {
  buildWechatAuthorization,
  decryptWechatResource,
  encryptWechatResource,
  parseWechatAuthorization,
  wechatRequestMessage,
  wechatVerify,
} from "./wechat-signature.js";

const keys = generateRsaKeyPair();
const API_V3_KEY = "0123456789abcdefghijklmnopqrstuv";

describe("WeChat Pay v3 signatures", () => {
  it("signs METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n, keeping the empty body line for GET", () => {
    expect(wechatRequestMessage("GET", "/v3/certificates", "1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", "")).toBe(
      "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n",
    );
  });

  it("builds an Authorization header that parses and verifies; one changed byte fails", () => {
    const body = '{"amount":{"total":1}}';
    const header = buildWechatAuthorization({
      mchid: "1900000001", serialNo: "ABC", privateKeyPem: keys.privateKeyPem, method: "POST",
      urlPathAndQuery: "/v3/pay/transactions/native", body, timestamp: "1554208460", nonce: "N1",
    });
    expect(header.startsWith("WECHATPAY2-SHA256-RSA2048 mchid=\"1900000001\",nonce_str=\"N1\",signature=\"")).toBe(true);
    const auth = parseWechatAuthorization(header);
    expect(auth?.serialNo).toBe("ABC");
    const message = wechatRequestMessage("POST", "/v3/pay/transactions/native", "1554208460", "N1", body);
    const independent = createSign("RSA-SHA256").update(message).sign(keys.privateKeyPem, "base64");
    expect(auth?.signature).toBe(independent);
    expect(wechatVerify(message, independent, keys.publicKeyPem)).toBe(true);
    expect(wechatVerify(message.replace('"total":1', '"total":2'), independent, keys.publicKeyPem)).toBe(false);
    expect(parseWechatAuthorization("Bearer x")).toBeUndefined();
  });

  it("decrypts an AEAD_AES_256_GCM resource; a flipped tag bit or other AAD fails", () => {
    const plain = JSON.stringify({ out_trade_no: "T1", amount: { total: 129902 } });
    const resource = encryptWechatResource(API_V3_KEY, plain, "fdasflkja484", "transaction", "transaction");
    expect(decryptWechatResource(API_V3_KEY, resource)).toBe(plain);
    const bytes = Buffer.from(resource.ciphertext, "base64");
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x01;
    expect(decryptWechatResource(API_V3_KEY, { ...resource, ciphertext: bytes.toString("base64") })).toBeUndefined();
    expect(decryptWechatResource(API_V3_KEY, { ...resource, associated_data: "refund" })).toBeUndefined();
    expect(decryptWechatResource("X123456789abcdefghijklmnopqrstuv", resource)).toBeUndefined();
  });
});
