import { createCipheriv, createSign, createVerify, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  authorizationHeader,
  checkAmount,
  decodeWechatCallback,
  decryptResource,
  isFreshTimestamp,
  jsonWithAmount,
  mapRefundState,
  mapTradeState,
  refundReport,
  requestMessage,
  transactionReport,
  verifyWechatSignature,
} from "./transformers.js";

function rsaPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

const merchant = rsaPair();
const platform = rsaPair();
const stranger = rsaPair();
const API_V3_KEY = "0123456789abcdefghijklmnopqrstuv";
const MCHID = "1900000001";
const CNY = (amountMinor: bigint) => ({ amountMinor, currency: "CNY" as const });
const platformKey = { platformSerial: "PUB_KEY_ID_0001", platformPublicKey: platform.publicKeyPem };

function signedHeaders(body: string, key = platform.privateKeyPem, serial = "PUB_KEY_ID_0001"): Record<string, string> {
  const timestamp = "1764550800";
  const nonce = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";
  return {
    "wechatpay-timestamp": timestamp,
    "wechatpay-nonce": nonce,
    "wechatpay-serial": serial,
    "wechatpay-signature-type": "WECHATPAY2-SHA256-RSA2048",
    "wechatpay-signature": createSign("RSA-SHA256").update(`${timestamp}\n${nonce}\n${body}\n`).sign(key, "base64"),
  };
}

function encrypt(plaintext: string, nonce: string, associatedData: string, key = API_V3_KEY): string {
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(key, "utf8"), Buffer.from(nonce, "utf8"));
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  return Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]).toString("base64");
}

describe("WeChat Authorization header", () => {
  it("signs METHOD\\nPATH?QUERY\\ntimestamp\\nnonce\\nbody\\n, GET keeping the empty body line", () => {
    expect(requestMessage("GET", "/v3/pay/transactions/out-trade-no/P1?mchid=1900000001", "1554208460", "593BEC0C", "")).toBe(
      "GET\n/v3/pay/transactions/out-trade-no/P1?mchid=1900000001\n1554208460\n593BEC0C\n\n",
    );
  });

  it("carries every field, and its signature verifies over that message with the merchant key", () => {
    const body = '{"amount":{"total":1234}}';
    const header = authorizationHeader({
      mchid: MCHID, serialNo: "SERIAL1", privateKey: merchant.privateKeyPem, method: "POST",
      pathAndQuery: "/v3/pay/transactions/native", body, timestamp: "1554208460", nonce: "N1",
    });
    const match = /^WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="N1",signature="([^"]+)",timestamp="1554208460",serial_no="SERIAL1"$/.exec(header);
    expect(match).not.toBeNull();
    const message = "POST\n/v3/pay/transactions/native\n1554208460\nN1\n" + body + "\n";
    expect(createVerify("RSA-SHA256").update(message).verify(merchant.publicKeyPem, match![1]!, "base64")).toBe(true);
    expect(createVerify("RSA-SHA256").update(message.replace("1234", "1235")).verify(merchant.publicKeyPem, match![1]!, "base64")).toBe(false);
  });
});

describe("WeChat response verification", () => {
  const body = '{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}';

  it("accepts the platform key's signature over timestamp\\nnonce\\nbody\\n, the empty body of a 204 too", () => {
    expect(verifyWechatSignature(signedHeaders(body), Buffer.from(body), platformKey)).toBeUndefined();
    expect(verifyWechatSignature(signedHeaders(""), Buffer.alloc(0), platformKey)).toBeUndefined();
  });

  it("refuses a changed body, another key, another serial, a missing header", () => {
    expect(verifyWechatSignature(signedHeaders(body), Buffer.from(body.replace("abc", "abd")), platformKey)).toMatch(/does not verify/);
    expect(verifyWechatSignature(signedHeaders(body, stranger.privateKeyPem), Buffer.from(body), platformKey)).toMatch(/does not verify/);
    expect(verifyWechatSignature(signedHeaders(body, platform.privateKeyPem, "PUB_KEY_ID_9999"), Buffer.from(body), platformKey)).toMatch(/not the platform key/);
    const { "wechatpay-signature": _s, ...unsigned } = signedHeaders(body);
    expect(verifyWechatSignature(unsigned, Buffer.from(body), platformKey)).toMatch(/required/);
  });
});

describe("WeChat request amounts", () => {
  it("writes fen as JSON integers from the bigint's digits, beyond 2^53 too", () => {
    expect(jsonWithAmount({ out_trade_no: "P1", description: "书 \"x\"" }, { total: 1234n, currency: "CNY" })).toBe(
      '{"out_trade_no":"P1","description":"书 \\"x\\"","amount":{"total":1234,"currency":"CNY"}}',
    );
    expect(jsonWithAmount({}, { total: 9007199254740993n })).toBe('{"amount":{"total":9007199254740993}}');
    expect(() => jsonWithAmount({}, { total: -1n })).toThrow(RangeError);
  });
});

describe("WeChat response freshness", () => {
  it("accepts a timestamp within 5 minutes either way, refuses older, newer, missing or malformed", () => {
    const nowMs = 1764550800_000;
    expect(isFreshTimestamp("1764550800", nowMs)).toBe(true);
    expect(isFreshTimestamp("1764550500", nowMs)).toBe(true);
    expect(isFreshTimestamp("1764551100", nowMs)).toBe(true);
    expect(isFreshTimestamp("1764550499", nowMs)).toBe(false);
    expect(isFreshTimestamp("1764551101", nowMs)).toBe(false);
    expect(isFreshTimestamp(undefined, nowMs)).toBe(false);
    expect(isFreshTimestamp("17645508e2", nowMs)).toBe(false);
  });
});

describe("WeChat AEAD_AES_256_GCM callback resource", () => {
  const plaintext = '{"mchid":"1900000001","out_trade_no":"P1","trade_state":"SUCCESS"}';
  const ciphertext = encrypt(plaintext, "fdasflkja484", "transaction");

  it("decrypts with the APIv3 key, nonce as IV and associated_data as AAD", () => {
    expect(decryptResource(API_V3_KEY, { algorithm: "AEAD_AES_256_GCM", ciphertext, nonce: "fdasflkja484", associated_data: "transaction" })).toBe(plaintext);
  });

  it("yields nothing for another key, AAD, nonce, a flipped byte or another algorithm", () => {
    const resource = { algorithm: "AEAD_AES_256_GCM", ciphertext, nonce: "fdasflkja484", associated_data: "transaction" };
    expect(decryptResource("vutsrqponmlkjihgfedcba9876543210", resource)).toBeUndefined();
    expect(decryptResource(API_V3_KEY, { ...resource, associated_data: "refund" })).toBeUndefined();
    expect(decryptResource(API_V3_KEY, { ...resource, nonce: "fdasflkja485" })).toBeUndefined();
    const bytes = Buffer.from(ciphertext, "base64");
    bytes[3] = (bytes[3] ?? 0) ^ 1;
    expect(decryptResource(API_V3_KEY, { ...resource, ciphertext: bytes.toString("base64") })).toBeUndefined();
    expect(decryptResource(API_V3_KEY, { ...resource, algorithm: "AEAD_CHACHA20" })).toBeUndefined();
  });
});

describe("WeChat trade_state and refund status mapping", () => {
  it.each([
    ["SUCCESS", "captured"],
    ["REFUND", "partially_refunded"],
    ["NOTPAY", "pending"],
    ["USERPAYING", "pending"],
    ["ACCEPT", "pending"],
    ["CLOSED", "closed"],
    ["REVOKED", "closed"],
    ["PAYERROR", "failed"],
  ] as const)("%s → %s", (state, expected) => {
    expect(mapTradeState(state)).toEqual({ ok: true, value: expected });
  });

  it.each(["PAYING", "success", ""])("an unknown trade_state %j → unknown_provider_status", (state) => {
    expect(mapTradeState(state)).toEqual({ ok: false, error: { code: "unknown_provider_status", providerStatus: state } });
  });

  it.each([
    ["SUCCESS", "succeeded"],
    ["PROCESSING", "processing"],
    ["ABNORMAL", "processing"],
    ["CLOSED", "failed"],
  ] as const)("refund %s → %s", (state, expected) => {
    expect(mapRefundState(state)).toEqual({ ok: true, value: expected });
  });

  it("an unknown refund status → unknown_provider_status", () => {
    expect(mapRefundState("REFUNDING")).toMatchObject({ ok: false, error: { code: "unknown_provider_status" } });
  });
});

describe("WeChat amount checks", () => {
  const paid = { mchid: MCHID, out_trade_no: "P1", transaction_id: "4200000001", trade_state: "SUCCESS", amount: { total: 1234, payer_total: 1234, currency: "CNY", payer_currency: "CNY" } };

  it("a matching paid transaction reports captured with the amount", () => {
    expect(transactionReport(paid, "P1", MCHID, CNY(1234n))).toMatchObject({ ok: true, value: { status: "captured", amount: CNY(1234n) } });
  });

  it("a missing total or currency, another amount, a fractional amount, another mchid: integrity_mismatch", () => {
    expect(transactionReport({ ...paid, amount: { currency: "CNY" } }, "P1", MCHID, CNY(1234n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "amount.total" } });
    expect(transactionReport({ ...paid, amount: { total: 1234 } }, "P1", MCHID, CNY(1234n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "amount.currency" } });
    expect(transactionReport({ ...paid, amount: { total: 1235, currency: "CNY" } }, "P1", MCHID, CNY(1234n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "amount.total" } });
    expect(transactionReport({ ...paid, amount: { total: 12.34, currency: "CNY" } }, "P1", MCHID, CNY(1234n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "amount.total" } });
    expect(transactionReport({ ...paid, mchid: "1900000002" }, "P1", MCHID, CNY(1234n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "mchid" } });
  });

  it("an unpaid order need not state an amount, but one it states is checked", () => {
    const unpaid = { mchid: MCHID, out_trade_no: "P1", trade_state: "NOTPAY", amount: { payer_currency: "CNY" } };
    expect(transactionReport(unpaid, "P1", MCHID, CNY(1234n))).toMatchObject({ ok: true, value: { status: "pending" } });
    expect(transactionReport({ ...unpaid, amount: { total: 1, currency: "CNY" } }, "P1", MCHID, CNY(1234n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch" } });
  });

  it("a refund answer must state its refund, total and currency", () => {
    const request = { paymentId: "P1", refundRef: "R1", amount: CNY(200n), paymentAmount: CNY(1234n) };
    const refund = { out_refund_no: "R1", out_trade_no: "P1", refund_id: "50000", status: "PROCESSING", amount: { refund: 200, total: 1234, currency: "CNY" } };
    expect(refundReport(refund, request)).toMatchObject({ ok: true, value: { status: "processing", amount: CNY(200n) } });
    expect(refundReport({ ...refund, amount: { total: 1234, currency: "CNY" } }, request)).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "amount.refund" } });
    expect(refundReport({ ...refund, status: "WEIRD" }, request)).toMatchObject({ ok: false, error: { code: "unknown_provider_status" } });
    expect(checkAmount(undefined, "total", CNY(1n))).toMatchObject({ code: "integrity_mismatch" });
  });
});

describe("WeChat callback", () => {
  const keys = { ...platformKey, mchid: MCHID, apiV3Key: API_V3_KEY };
  const transaction = { mchid: MCHID, appid: "wx1", out_trade_no: "P1", transaction_id: "4200000001", trade_state: "SUCCESS", success_time: "2026-12-01T09:00:04+08:00", amount: { total: 1234, payer_total: 1234, currency: "CNY", payer_currency: "CNY" } };
  const callback = (inner: object, eventType = "TRANSACTION.SUCCESS", aad = "transaction") =>
    JSON.stringify({
      id: "EV-1", create_time: "2026-12-01T09:00:05+08:00", resource_type: "encrypt-resource", event_type: eventType, summary: "支付成功",
      resource: { algorithm: "AEAD_AES_256_GCM", ciphertext: encrypt(JSON.stringify(inner), "abcdefghijkl", aad), nonce: "abcdefghijkl", associated_data: aad, original_type: aad },
    });

  it("verifies, decrypts and decodes a payment", () => {
    const body = callback(transaction);
    expect(decodeWechatCallback(signedHeaders(body), Buffer.from(body), keys)).toMatchObject({
      ok: true,
      value: { kind: "payment", notificationId: "EV-1", sentAt: new Date(1764550800 * 1000), report: { paymentId: "P1", status: "captured", amount: CNY(1234n), providerTransactionId: "4200000001" } },
    });
  });

  it("decodes a refund callback", () => {
    const body = callback({ mchid: MCHID, out_trade_no: "P1", transaction_id: "4200000001", out_refund_no: "R1", refund_id: "50000", refund_status: "SUCCESS", amount: { total: 1234, refund: 200, payer_total: 1234, payer_refund: 200 } }, "REFUND.SUCCESS", "refund");
    expect(decodeWechatCallback(signedHeaders(body), Buffer.from(body), keys)).toMatchObject({
      ok: true,
      value: { kind: "refund", report: { paymentId: "P1", refundRef: "R1", status: "succeeded", amount: CNY(200n) } },
    });
  });

  it("a tampered body or a foreign signature → bad_signature; a resource under another key → decrypt_failed", () => {
    const body = callback(transaction);
    expect(decodeWechatCallback(signedHeaders(body), Buffer.from(body.replace("EV-1", "EV-2")), keys)).toMatchObject({ ok: false, error: { code: "bad_signature" } });
    expect(decodeWechatCallback(signedHeaders(body, stranger.privateKeyPem), Buffer.from(body), keys)).toMatchObject({ ok: false, error: { code: "bad_signature" } });
    expect(decodeWechatCallback(signedHeaders(body), Buffer.from(body), { ...keys, apiV3Key: "vutsrqponmlkjihgfedcba9876543210" })).toMatchObject({ ok: false, error: { code: "decrypt_failed" } });
  });

  it("an unknown trade_state or event_type → unknown_provider_status; a paid one without amount → malformed", () => {
    const weird = callback({ ...transaction, trade_state: "PAYING" });
    expect(decodeWechatCallback(signedHeaders(weird), Buffer.from(weird), keys)).toMatchObject({ ok: false, error: { code: "unknown_provider_status", providerStatus: "PAYING" } });
    const event = callback(transaction, "TRANSACTION.PARTIAL");
    expect(decodeWechatCallback(signedHeaders(event), Buffer.from(event), keys)).toMatchObject({ ok: false, error: { code: "unknown_provider_status", providerStatus: "TRANSACTION.PARTIAL" } });
    const { amount: _a, ...noAmount } = transaction;
    const missing = callback(noAmount);
    expect(decodeWechatCallback(signedHeaders(missing), Buffer.from(missing), keys)).toMatchObject({ ok: false, error: { code: "malformed" } });
  });
});
