import { createHash, createVerify, generateKeyPairSync } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { money } from "@tributary/money";
import { describe, expect, it } from "vitest";
import { createUnionpayAdapter, inMemoryUnionpayOrders, signUnionpayFields, unionpaySigningString, verifyUnionpayFields, type UnionpayOrderRecord } from "./client.js";
import { UNIONPAY_TEST_NOTIFICATION_VECTOR as VECTOR } from "./known-answer-vector.js";

function rsaPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

const merchant = rsaPair();
const platform = rsaPair();
const attacker = rsaPair();
const MER_ID = "777290058110048";
const PLATFORM_CERT_ID = "69629715588";

const adapter = createUnionpayAdapter({
  backTransUrl: "http://127.0.0.1:9/unionpay/gateway/api/backTransReq.do",
  queryUrl: "http://127.0.0.1:9/unionpay/gateway/api/queryTrans.do",
  merId: MER_ID,
  merchantPrivateKeyPem: merchant.privateKeyPem,
  merchantCertId: "68759663125",
  platformPublicKeyPem: platform.publicKeyPem,
  platformCertId: PLATFORM_CERT_ID,
  orders: inMemoryUnionpayOrders(),
});

const consumeNotice: Record<string, string> = {
  version: "5.1.0",
  encoding: "UTF-8",
  bizType: "000000",
  txnType: "01",
  txnSubType: "07",
  accessType: "0",
  merId: MER_ID,
  orderId: "PAY00000001",
  txnTime: "20261123100000",
  txnAmt: "129902",
  currencyCode: "156",
  queryId: "112311000012345678901",
  respCode: "00",
  respMsg: "成功[0000000]",
  settleAmt: "129902",
  settleCurrencyCode: "156",
  settleDate: "1123",
  traceNo: "123456",
  traceTime: "1123100001",
};

/** Signs like UnionPay: the platform key, its cert id and the public key PEM carried in the message. */
function platformSigned(fields: Record<string, string>): Record<string, string> {
  return signUnionpayFields({ ...fields, signPubKeyCert: platform.publicKeyPem }, platform.privateKeyPem, PLATFORM_CERT_ID);
}

function asNotification(fields: Record<string, string>) {
  return { headers: { "content-type": "application/x-www-form-urlencoded; charset=UTF-8" }, body: Buffer.from(new URLSearchParams(Object.entries(fields)).toString()) };
}

describe("UnionPay signMethod=01 known answer (a message UnionPay's test environment signed)", () => {
  it("our signing string of its fields has the SHA-256 of the string the publishing library built", () => {
    const digest = createHash("sha256").update(unionpaySigningString(VECTOR.fields), "utf8").digest("hex");
    expect(digest).toBe(VECTOR.signingStringSha256Hex);
  });

  it("verifies under UnionPay's test certificate, and fails on one changed field", () => {
    expect(verifyUnionpayFields(VECTOR.fields, VECTOR.platformCertificatePem)).toBe(true);
    expect(verifyUnionpayFields({ ...VECTOR.fields, txnAmt: "2" }, VECTOR.platformCertificatePem)).toBe(false);
    expect(verifyUnionpayFields({ ...VECTOR.fields, signMethod: "11" }, VECTOR.platformCertificatePem)).toBe(false);
    expect(verifyUnionpayFields(VECTOR.fields, platform.publicKeyPem)).toBe(false);
  });

  it("fails when the RSA step is applied to the raw string instead of its hex digest (the rule it pins)", () => {
    const rawSigned = createVerify("RSA-SHA256").update(unionpaySigningString(VECTOR.fields), "utf8").verify(VECTOR.platformCertificatePem, VECTOR.fields.signature, "base64");
    expect(rawSigned).toBe(false);
  });
});

describe("UnionPay signing string and signature", () => {
  it("sorts every non-empty field except signature, raw k=v&", () => {
    expect(unionpaySigningString({ txnAmt: "100", signature: "x", accessType: "0", reqReserved: "", orderDesc: "a b&c" })).toBe("accessType=0&orderDesc=a b&c&txnAmt=100");
  });

  it("signs SHA-256 lowercase hex with SHA256withRSA and adds certId and signMethod", () => {
    const signed = signUnionpayFields({ txnAmt: "100", orderId: "PAY00000001" }, merchant.privateKeyPem, "68759663125");
    expect(signed).toMatchObject({ certId: "68759663125", signMethod: "01" });
    const hex = createHash("sha256").update("certId=68759663125&orderId=PAY00000001&signMethod=01&txnAmt=100").digest("hex");
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    expect(createVerify("RSA-SHA256").update(hex).verify(merchant.publicKeyPem, signed["signature"] ?? "", "base64")).toBe(true);
    expect(verifyUnionpayFields(signed, merchant.publicKeyPem)).toBe(true);
  });
});

describe("UnionPay notification verification", () => {
  it("accepts a platform-signed consume notification and reports the captured amount", () => {
    const result = adapter.verifyNotification(asNotification(platformSigned(consumeNotice)));
    expect(result).toEqual({
      ok: true,
      value: {
        kind: "payment",
        notificationId: "unionpay:01:112311000012345678901",
        report: {
          paymentId: "PAY00000001",
          status: "captured",
          amount: money(129902n, "CNY"),
          providerTransactionId: "112311000012345678901",
          providerStatus: "respCode=00",
        },
      },
    });
  });

  it("rejects a message re-signed with a substituted key whose certificate and cert id ride inside it", () => {
    const forged = signUnionpayFields({ ...consumeNotice, signPubKeyCert: attacker.publicKeyPem }, attacker.privateKeyPem, PLATFORM_CERT_ID);
    // The forgery is self-consistent: it verifies with the key it carries.
    expect(verifyUnionpayFields(forged, forged["signPubKeyCert"] ?? "")).toBe(true);
    expect(adapter.verifyNotification(asNotification(forged))).toMatchObject({ ok: false, error: { code: "bad_signature" } });
    const forgedOwnCertId = signUnionpayFields({ ...consumeNotice, signPubKeyCert: attacker.publicKeyPem }, attacker.privateKeyPem, "99999999999");
    expect(adapter.verifyNotification(asNotification(forgedOwnCertId))).toMatchObject({ ok: false, error: { code: "bad_signature" } });
  });

  it("rejects a tampered amount, a stripped signature and another signMethod", () => {
    const genuine = platformSigned(consumeNotice);
    expect(adapter.verifyNotification(asNotification({ ...genuine, txnAmt: "1" }))).toMatchObject({ ok: false, error: { code: "bad_signature" } });
    const { signature: _s, ...unsigned } = genuine;
    expect(adapter.verifyNotification(asNotification(unsigned))).toMatchObject({ ok: false, error: { code: "bad_signature" } });
    expect(adapter.verifyNotification(asNotification({ ...genuine, signMethod: "11" }))).toMatchObject({ ok: false, error: { code: "bad_signature" } });
  });

  it("a genuine notification without txnAmt is malformed, not accepted", () => {
    const { txnAmt: _t, ...withoutAmount } = consumeNotice;
    expect(adapter.verifyNotification(asNotification(platformSigned(withoutAmount)))).toMatchObject({ ok: false, error: { code: "malformed" } });
  });

  it("a genuine notification with an unknown respCode or txnType goes to review", () => {
    expect(adapter.verifyNotification(asNotification(platformSigned({ ...consumeNotice, respCode: "X1" })))).toMatchObject({
      ok: false,
      error: { code: "unknown_provider_status", providerStatus: "respCode=X1" },
    });
    expect(adapter.verifyNotification(asNotification(platformSigned({ ...consumeNotice, txnType: "31" })))).toMatchObject({
      ok: false,
      error: { code: "unknown_provider_status", providerStatus: "txnType=31" },
    });
  });

  it("another merchant's notification is malformed", () => {
    expect(adapter.verifyNotification(asNotification(platformSigned({ ...consumeNotice, merId: "777290058999999" })))).toMatchObject({ ok: false, error: { code: "malformed" } });
  });

  it("a refund notification names the payment through reqReserved", () => {
    const refund = platformSigned({ ...consumeNotice, txnType: "04", txnSubType: "00", orderId: "REF00000001", txnAmt: "2000", queryId: "112311000099999999999", reqReserved: "PAY00000001" });
    expect(adapter.verifyNotification(asNotification(refund))).toMatchObject({
      ok: true,
      value: { kind: "refund", notificationId: "unionpay:04:112311000099999999999", report: { paymentId: "PAY00000001", refundRef: "REF00000001", status: "succeeded", amount: money(2000n, "CNY") } },
    });
    const { reqReserved: _r, ...anonymous } = refund;
    expect(adapter.verifyNotification(asNotification(platformSigned(anonymous)))).toMatchObject({ ok: false, error: { code: "malformed" } });
  });

  it("acknowledges with HTTP 200 (UnionPay retries anything else)", () => {
    expect(adapter.acknowledgement(true).status).toBe(200);
    expect(adapter.acknowledgement(false).status).not.toBe(200);
  });
});

describe("UnionPay calls that cannot be sent", () => {
  it("refuses an orderId ACP would refuse, before sending", async () => {
    const result = await adapter.createPayment({
      paymentId: "pay-1",
      orderId: "o1",
      merchantId: "m1",
      amount: money(100n, "CNY"),
      channel: "app",
      description: "x",
      notifyUrl: "http://127.0.0.1/notify",
      expiresAt: new Date(),
    });
    expect(result).toMatchObject({ ok: false, error: { code: "rejected", providerCode: "invalid_order_id" } });
  });

  it("an order the order memory does not know was never sent: not_found, without asking UnionPay with a guessed txnTime", async () => {
    expect(await adapter.queryPayment("PAY99999999", money(1n, "CNY"))).toMatchObject({ ok: false, error: { code: "not_found" } });
  });
});

describe("UnionPay answers over HTTP (a loopback server playing the gateway)", () => {
  /** Serves one fixed answer text (or status) to every POST and returns the adapter pointed at it. */
  async function gatewayAnswering(status: number, text: string) {
    const server = createServer((_req, res) => {
      _req.resume();
      _req.on("end", () => res.writeHead(status, { "content-type": "text/plain;charset=UTF-8" }).end(text));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const records = new Map<string, UnionpayOrderRecord>([["PAY00000001", { txnTime: "20261123100000", backUrl: "http://127.0.0.1/notify" }]]);
    const pointed = createUnionpayAdapter({
      backTransUrl: `${base}/back`,
      queryUrl: `${base}/query`,
      merId: MER_ID,
      merchantPrivateKeyPem: merchant.privateKeyPem,
      merchantCertId: "68759663125",
      platformPublicKeyPem: platform.publicKeyPem,
      platformCertId: PLATFORM_CERT_ID,
      timeoutMs: 2_000,
      orders: { get: (id) => records.get(id), set: (id, record) => void records.set(id, record) },
    });
    return { adapter: pointed, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }
  const rawText = (fields: Record<string, string>) => Object.entries(fields).map(([k, v]) => `${k}=${v}`).join("&");
  const queryAnswer: Record<string, string> = { ...consumeNotice, txnType: "00", txnSubType: "00", origRespCode: "00", origRespMsg: "成功" };

  it("a genuine query answer is captured with its amount", async () => {
    const gateway = await gatewayAnswering(200, rawText(platformSigned(queryAnswer)));
    expect(await gateway.adapter.queryPayment("PAY00000001", money(129902n, "CNY"))).toMatchObject({ ok: true, value: { status: "captured", amount: money(129902n, "CNY") } });
    await gateway.close();
  });

  it("an answer re-signed with a substituted key carried in signPubKeyCert is bad_response_signature", async () => {
    const forged = signUnionpayFields({ ...queryAnswer, signPubKeyCert: attacker.publicKeyPem }, attacker.privateKeyPem, PLATFORM_CERT_ID);
    const gateway = await gatewayAnswering(200, rawText(forged));
    expect(await gateway.adapter.queryPayment("PAY00000001", money(129902n, "CNY"))).toMatchObject({ ok: false, error: { code: "bad_response_signature" } });
    await gateway.close();
  });

  it("a genuine answer without txnAmt is integrity_mismatch; an unknown origRespCode goes to review", async () => {
    const { txnAmt: _t, ...noAmount } = queryAnswer;
    const missing = await gatewayAnswering(200, rawText(platformSigned(noAmount)));
    expect(await missing.adapter.queryPayment("PAY00000001", money(129902n, "CNY"))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "txnAmt" } });
    await missing.close();
    const unknown = await gatewayAnswering(200, rawText(platformSigned({ ...queryAnswer, origRespCode: "K7" })));
    expect(await unknown.adapter.queryPayment("PAY00000001", money(129902n, "CNY"))).toMatchObject({ ok: false, error: { code: "unknown_provider_status", providerStatus: "origRespCode=K7" } });
    await unknown.close();
  });

  it("HTTP 503 is outcome_unknown", async () => {
    const gateway = await gatewayAnswering(503, "<html>503</html>");
    expect(await gateway.adapter.queryPayment("PAY00000001", money(129902n, "CNY"))).toMatchObject({ ok: false, error: { code: "outcome_unknown", retryable: true } });
    await gateway.close();
  });
});
