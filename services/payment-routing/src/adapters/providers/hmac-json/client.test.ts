import { createHmac } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { money } from "@tributary/money";
import { describe, expect, it } from "vitest";
import { createEcnyAdapter } from "../ecny/client.js";
import { createJdPayAdapter } from "../jdpay/client.js";
import { hmacRequestMessage, hmacResponseMessage, hmacSignHex, hmacVerifyHex } from "./client.js";

const SECRET = "s3cr3t-merchant-hmac-key";
const MERCHANT = "110000000001";
const config = { baseUrl: "http://127.0.0.1:9/jdpay/v1", merchantId: MERCHANT, secret: SECRET };
const jd = createJdPayAdapter(config);

function signedNotification(payload: object, secret = SECRET, timestamp = "1795406400", nonce = "n0nce") {
  const body = JSON.stringify(payload);
  return {
    headers: { "content-type": "application/json", "x-sandbox-timestamp": timestamp, "x-sandbox-nonce": nonce, "x-sandbox-signature": hmacSignHex(hmacResponseMessage(0, timestamp, nonce, body), secret) },
    body: Buffer.from(body, "utf8"),
  };
}

const paymentEvent = {
  eventId: "9f2c",
  eventType: "PAYMENT.SUCCEEDED",
  occurredAt: "2026-11-23T10:00:01.000+08:00",
  data: { merchantId: MERCHANT, outTradeNo: "PAY-1", providerTradeNo: "JD2026", status: "SUCCEEDED", amountMinor: "129902", refundedMinor: "0", currency: "CNY", subject: "茶叶", paidAt: "2026-11-23T10:00:00.000+08:00" },
};

describe("HMAC-SHA256", () => {
  it("matches RFC 4231 test case 2 (the published known answer for the primitive)", () => {
    // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
    expect(hmacSignHex("what do ya want for nothing?", "Jefe")).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("signs METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n and STATUS\\nTIMESTAMP\\nNONCE\\nBODY\\n", () => {
    expect(hmacRequestMessage("POST", "/jdpay/v1/payments?x=1", "1795406400", "abc", '{"a":1}')).toBe('POST\n/jdpay/v1/payments?x=1\n1795406400\nabc\n{"a":1}\n');
    expect(hmacRequestMessage("GET", "/ecny/v1/payments/P1", "1", "n", "")).toBe("GET\n/ecny/v1/payments/P1\n1\nn\n\n");
    expect(hmacResponseMessage(0, "1", "n", "{}")).toBe("0\n1\nn\n{}\n");
    const message = hmacRequestMessage("GET", "/p", "1", "n", "");
    expect(hmacSignHex(message, SECRET)).toBe(createHmac("sha256", SECRET).update(message).digest("hex"));
    expect(hmacSignHex(message, SECRET)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("verifies only the exact signature", () => {
    const signature = hmacSignHex("m", SECRET);
    expect(hmacVerifyHex("m", signature, SECRET)).toBe(true);
    expect(hmacVerifyHex("m ", signature, SECRET)).toBe(false);
    expect(hmacVerifyHex("m", signature, "other")).toBe(false);
    expect(hmacVerifyHex("m", signature.slice(0, 62), SECRET)).toBe(false);
    expect(hmacVerifyHex("m", "", SECRET)).toBe(false);
    expect(hmacVerifyHex("m", "zz".repeat(32), SECRET)).toBe(false);
  });
});

describe("HMAC JSON notifications (JD Pay and e-CNY)", () => {
  it("accepts a signed payment notification and reports its amount, id and signed time", () => {
    expect(jd.verifyNotification(signedNotification(paymentEvent))).toEqual({
      ok: true,
      value: {
        kind: "payment",
        notificationId: "9f2c",
        sentAt: new Date(1795406400 * 1000),
        report: { paymentId: "PAY-1", status: "captured", amount: money(129902n, "CNY"), providerStatus: "SUCCEEDED", providerTransactionId: "JD2026", paidAt: new Date("2026-11-23T02:00:00.000Z") },
      },
    });
  });

  it("rejects a tampered body, a tampered timestamp, another secret and a missing signature", () => {
    const genuine = signedNotification(paymentEvent);
    const tampered = { ...genuine, body: Buffer.from(genuine.body.toString("utf8").replace('"129902"', '"1"')) };
    expect(jd.verifyNotification(tampered)).toMatchObject({ ok: false, error: { code: "bad_signature" } });
    expect(jd.verifyNotification({ ...genuine, headers: { ...genuine.headers, "x-sandbox-timestamp": "1795406401" } })).toMatchObject({ ok: false, error: { code: "bad_signature" } });
    expect(jd.verifyNotification(signedNotification(paymentEvent, "someone-else"))).toMatchObject({ ok: false, error: { code: "bad_signature" } });
    const { "x-sandbox-signature": _s, ...unsigned } = genuine.headers;
    expect(jd.verifyNotification({ ...genuine, headers: unsigned })).toMatchObject({ ok: false, error: { code: "bad_signature" } });
  });

  it("the e-CNY adapter does not accept a notification signed with JD Pay's secret", () => {
    const ecny = createEcnyAdapter({ ...config, baseUrl: "http://127.0.0.1:9/ecny/v1", secret: "ecny-secret" });
    expect(ecny.provider).toBe("ecny");
    expect(jd.provider).toBe("jd_pay");
    expect(ecny.verifyNotification(signedNotification(paymentEvent))).toMatchObject({ ok: false, error: { code: "bad_signature" } });
  });

  it("a signed notification without an amount is malformed", () => {
    const { amountMinor: _a, ...data } = paymentEvent.data;
    expect(jd.verifyNotification(signedNotification({ ...paymentEvent, data }))).toMatchObject({ ok: false, error: { code: "malformed" } });
  });

  it("an unknown event type or status goes to review", () => {
    expect(jd.verifyNotification(signedNotification({ ...paymentEvent, eventType: "PAYMENT.DISPUTED" }))).toMatchObject({ ok: false, error: { code: "unknown_provider_status", providerStatus: "PAYMENT.DISPUTED" } });
    expect(jd.verifyNotification(signedNotification({ ...paymentEvent, data: { ...paymentEvent.data, status: "CHARGED_BACK" } }))).toMatchObject({
      ok: false,
      error: { code: "unknown_provider_status", providerStatus: "CHARGED_BACK" },
    });
  });

  it("another merchant's notification is malformed", () => {
    expect(jd.verifyNotification(signedNotification({ ...paymentEvent, data: { ...paymentEvent.data, merchantId: "110000000999" } }))).toMatchObject({ ok: false, error: { code: "malformed" } });
  });

  it("decodes a refund notification", () => {
    const refund = { eventId: "ab01", eventType: "REFUND.SUCCEEDED", occurredAt: "", data: { merchantId: MERCHANT, outTradeNo: "PAY-1", providerTradeNo: "JD2026", outRefundNo: "R-1", providerRefundNo: "RJD1", status: "SUCCEEDED", amountMinor: "29902", currency: "CNY" } };
    expect(jd.verifyNotification(signedNotification(refund))).toMatchObject({
      ok: true,
      value: { kind: "refund", notificationId: "ab01", report: { paymentId: "PAY-1", refundRef: "R-1", status: "succeeded", amount: money(29902n, "CNY"), providerRefundId: "RJD1" } },
    });
  });

  it("acknowledges with a 2xx (the API retries anything else)", () => {
    expect(jd.acknowledgement(true).status).toBe(200);
    expect(jd.acknowledgement(false).status).toBeGreaterThanOrEqual(400);
  });
});

describe("HMAC JSON calls", () => {
  it("refuses a number the API would refuse, before sending", async () => {
    const result = await jd.createPayment({ paymentId: "pay 1", orderId: "o", merchantId: "m", amount: money(1n, "CNY"), channel: "app", description: "d", notifyUrl: "http://x", expiresAt: new Date(Date.now() + 60_000) });
    expect(result).toMatchObject({ ok: false, error: { code: "rejected", providerCode: "invalid_out_trade_no" } });
  });

  it("a call that never connected is unreachable", async () => {
    // A loopback port that was just free refuses the connection: nothing was sent.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const closed = createJdPayAdapter({ ...config, baseUrl: `http://127.0.0.1:${port}/jdpay/v1` });
    expect(await closed.queryPayment("PAY-1", money(1n, "CNY"))).toMatchObject({ ok: false, error: { code: "unreachable" } });
  });
});

describe("HMAC JSON answers over HTTP (a loopback server playing the API)", () => {
  /** Answers every request with `payload`, signed with `secret`, and returns the adapter pointed at it. */
  async function apiAnswering(status: number, payload: object, secret = SECRET) {
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const body = JSON.stringify(payload);
        res.writeHead(status, { "content-type": "application/json", "x-sandbox-timestamp": "1795406400", "x-sandbox-nonce": "abc", "x-sandbox-signature": hmacSignHex(hmacResponseMessage(status, "1795406400", "abc", body), secret) }).end(body);
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const adapter = createJdPayAdapter({ ...config, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jdpay/v1` });
    return { adapter, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it("a genuine answer is read; one signed with another secret is bad_response_signature", async () => {
    const genuine = await apiAnswering(200, paymentEvent.data);
    expect(await genuine.adapter.queryPayment("PAY-1", money(129902n, "CNY"))).toMatchObject({ ok: true, value: { status: "captured", amount: money(129902n, "CNY") } });
    await genuine.close();
    const forged = await apiAnswering(200, paymentEvent.data, "someone-else");
    expect(await forged.adapter.queryPayment("PAY-1", money(129902n, "CNY"))).toMatchObject({ ok: false, error: { code: "bad_response_signature" } });
    await forged.close();
  });

  it("an unknown status goes to review; a missing amount is integrity_mismatch; a 500 is outcome_unknown", async () => {
    const unknown = await apiAnswering(200, { ...paymentEvent.data, status: "DISPUTED" });
    expect(await unknown.adapter.queryPayment("PAY-1", money(129902n, "CNY"))).toMatchObject({ ok: false, error: { code: "unknown_provider_status", providerStatus: "DISPUTED" } });
    await unknown.close();
    const { amountMinor: _a, ...noAmount } = paymentEvent.data;
    const missing = await apiAnswering(200, noAmount);
    expect(await missing.adapter.queryPayment("PAY-1", money(129902n, "CNY"))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "amountMinor" } });
    await missing.close();
    const failing = await apiAnswering(500, { error: { code: "SYSTEM_ERROR", message: "retry" } });
    expect(await failing.adapter.queryPayment("PAY-1", money(129902n, "CNY"))).toMatchObject({ ok: false, error: { code: "outcome_unknown", retryable: true } });
    await failing.close();
  });
});
