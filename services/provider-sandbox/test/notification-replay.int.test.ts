import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type RunningSandbox, type SandboxOptions } from "../src/index.js";
import { alipayCall, hmacHex, rsaSha256Verify, startReceiver, wechatCall, type NotifyReceiver } from "./support/merchant.js";

// What a merchant needs to test replay rejection: a duplicate that is byte-for-byte the first
// delivery (same body, same signature headers, same notification id), and notification ids
// that stay the same across retries and change for the next notification.

const keysDir = mkdtempSync(join(tmpdir(), "sandbox-keys-"));
const running: RunningSandbox[] = [];
const receivers: NotifyReceiver[] = [];

async function sandboxWith(options: SandboxOptions): Promise<RunningSandbox> {
  const sandbox = await startSandbox({ keysDir, buyer: { mode: "manual" }, ...options });
  running.push(sandbox);
  return sandbox;
}
async function receiver(answer: NotifyReceiver["answer"]): Promise<NotifyReceiver> {
  const r = await startReceiver();
  r.answer = answer;
  receivers.push(r);
  return r;
}

beforeAll(async () => {
  const first = await startSandbox({ keysDir });
  await first.stop();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

const WECHAT_SIGNATURE_HEADERS = ["wechatpay-timestamp", "wechatpay-nonce", "wechatpay-signature", "wechatpay-serial"] as const;
const HMAC_SIGNATURE_HEADERS = ["x-sandbox-timestamp", "x-sandbox-nonce", "x-sandbox-signature"] as const;

async function wechatNativeOrder(sandbox: RunningSandbox, outTradeNo: string, notifyUrl: string, total = 100): Promise<void> {
  const w = sandbox.providers.wechat;
  const created = await wechatCall(w, "POST", "/v3/pay/transactions/native", { appid: w.appid, mchid: w.mchid, description: "t", out_trade_no: outTradeNo, notify_url: notifyUrl, amount: { total } }, Date.now());
  expect(created.status).toBe(200);
}

async function hmacCall(sandbox: RunningSandbox, provider: "jdpay" | "ecny", path: string, body: object): Promise<number> {
  const creds = sandbox.providers[provider];
  const url = new URL(`${creds.baseUrl}${path}`);
  const text = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomBytes(8).toString("hex");
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-sandbox-merchant-id": creds.merchantId,
      "x-sandbox-timestamp": timestamp,
      "x-sandbox-nonce": nonce,
      "x-sandbox-signature": hmacHex(`POST\n${url.pathname}\n${timestamp}\n${nonce}\n${text}\n`, creds.secret),
    },
    body: text,
  });
  await response.text();
  return response.status;
}

function wechatSignatureValid(n: NotifyReceiver["received"][number], platformPublicKeyPem: string): boolean {
  const h = n.headers;
  return rsaSha256Verify(`${String(h["wechatpay-timestamp"])}\n${String(h["wechatpay-nonce"])}\n${n.body}\n`, String(h["wechatpay-signature"]), platformPublicKeyPem);
}

describe("identical duplicate notifications (duplicateNotifyMode: identical)", () => {
  it("WeChat: the duplicate is the first delivery byte for byte, and deliveries() marks it", async () => {
    const sandbox = await sandboxWith({ faults: { wechat: { duplicateNotifyRate: 1, duplicateNotifyMode: "identical", duplicateNotifyDelayMs: 1_100 } } });
    const r = await receiver(() => ({ status: 204, body: "" }));
    await wechatNativeOrder(sandbox, "REPLAYWX01", r.url);
    sandbox.pay("wechat", "REPLAYWX01");
    await r.waitFor(() => r.received.length >= 2 && sandbox.deliveries().length >= 2);
    const [first, copy] = r.received;
    // More than a second apart, so a re-signed copy could not share the timestamp by chance.
    expect(copy?.body).toBe(first?.body);
    expect(copy?.headers).toEqual(first?.headers);
    for (const name of WECHAT_SIGNATURE_HEADERS) expect(copy?.headers[name]).toBe(first?.headers[name]);
    expect(wechatSignatureValid(copy!, sandbox.providers.wechat.platformPublicKeyPem)).toBe(true);
    const id = (JSON.parse(first!.body) as { id: string }).id;
    expect(sandbox.deliveries().map((d) => [d.duplicate, d.identicalReplay, d.notificationId])).toEqual([
      [false, false, id],
      [true, true, id],
    ]);
  });

  it("WeChat: by default (resigned) the duplicate keeps the id but carries a new nonce and signature", async () => {
    const sandbox = await sandboxWith({ faults: { wechat: { duplicateNotifyRate: 1 } } });
    const r = await receiver(() => ({ status: 204, body: "" }));
    await wechatNativeOrder(sandbox, "REPLAYWX02", r.url);
    sandbox.pay("wechat", "REPLAYWX02");
    await r.waitFor(() => r.received.length >= 2 && sandbox.deliveries().length >= 2);
    const [first, copy] = r.received;
    expect((JSON.parse(copy!.body) as { id: string }).id).toBe((JSON.parse(first!.body) as { id: string }).id);
    expect(copy?.headers["wechatpay-nonce"]).not.toBe(first?.headers["wechatpay-nonce"]);
    expect(copy?.headers["wechatpay-signature"]).not.toBe(first?.headers["wechatpay-signature"]);
    expect(wechatSignatureValid(copy!, sandbox.providers.wechat.platformPublicKeyPem)).toBe(true);
    expect(sandbox.deliveries().map((d) => [d.duplicate, d.identicalReplay])).toEqual([[false, false], [true, false]]);
  });

  it("Alipay: the duplicate repeats notify_time and sign as well as notify_id", async () => {
    const sandbox = await sandboxWith({ faults: { alipay: { duplicateNotifyRate: 1, duplicateNotifyMode: "identical", duplicateNotifyDelayMs: 1_100 } } });
    const r = await receiver(() => ({ status: 200, body: "success" }));
    await alipayCall(sandbox.providers.alipay, "alipay.trade.precreate", { out_trade_no: "REPLAYAL01", total_amount: "1.00", subject: "x" }, Date.now(), { notifyUrl: r.url });
    sandbox.pay("alipay", "REPLAYAL01");
    await r.waitFor(() => r.received.length >= 2 && sandbox.deliveries().length >= 2);
    const [first, copy] = r.received;
    expect(copy?.body).toBe(first?.body);
    expect(copy?.headers).toEqual(first?.headers);
    expect(sandbox.deliveries().map((d) => d.identicalReplay)).toEqual([false, true]);
  });

  for (const provider of ["jdpay", "ecny"] as const) {
    it(`${provider}: the duplicate repeats the body and the X-Sandbox signature headers`, async () => {
      const sandbox = await sandboxWith({ faults: { [provider]: { duplicateNotifyRate: 1, duplicateNotifyMode: "identical", duplicateNotifyDelayMs: 1_100 } } });
      const r = await receiver(() => ({ status: 200, body: "{}" }));
      expect(await hmacCall(sandbox, provider, "/payments", { outTradeNo: `RP${provider}01`, amountMinor: "100", subject: "x", notifyUrl: r.url })).toBe(201);
      sandbox.pay(provider, `RP${provider}01`);
      await r.waitFor(() => r.received.length >= 2 && sandbox.deliveries().length >= 2);
      const [first, copy] = r.received;
      expect(copy?.body).toBe(first?.body);
      expect(copy?.headers).toEqual(first?.headers);
      for (const name of HMAC_SIGNATURE_HEADERS) expect(copy?.headers[name]).toBe(first?.headers[name]);
      const eventId = (JSON.parse(first!.body) as { eventId: string }).eventId;
      expect(sandbox.deliveries().map((d) => [d.identicalReplay, d.notificationId])).toEqual([
        [false, eventId],
        [true, eventId],
      ]);
    });
  }
});

describe("notification ids across retries", () => {
  it("WeChat: the callback id stays across retries (re-signed each time); a refund callback gets a new one", async () => {
    const sandbox = await sandboxWith({ timing: { refundDelayMs: 20, notifyScheduleMs: { wechat: [0, 50, 50] } } });
    let calls = 0;
    // Refuse the first two attempts of the payment callback, accept everything after.
    const r = await receiver(() => (++calls <= 2 ? { status: 500, body: '{"code":"FAIL","message":"busy"}' } : { status: 204, body: "" }));
    await wechatNativeOrder(sandbox, "RETRYWX001", r.url);
    sandbox.pay("wechat", "RETRYWX001");
    await r.waitFor(() => sandbox.deliveries().some((d) => d.acked));
    const w = sandbox.providers.wechat;
    const refund = await wechatCall(w, "POST", "/v3/refund/domestic/refunds", { out_trade_no: "RETRYWX001", out_refund_no: "RETRYWXR01", notify_url: r.url, amount: { refund: 40, total: 100, currency: "CNY" } }, Date.now());
    expect(refund.status).toBe(200);
    await r.waitFor(() => r.received.length >= 4 && sandbox.deliveries().length >= 4);

    const bodies = r.received.map((n) => JSON.parse(n.body) as { id: string; event_type: string; create_time: string });
    const payment = bodies.slice(0, 3);
    expect(payment.map((b) => b.event_type)).toEqual(["TRANSACTION.SUCCESS", "TRANSACTION.SUCCESS", "TRANSACTION.SUCCESS"]);
    expect(new Set(payment.map((b) => b.id)).size).toBe(1);
    expect(new Set(r.received.slice(0, 3).map((n) => n.body)).size).toBe(1);
    // Each retry is a new delivery, signed anew, and verifies.
    expect(new Set(r.received.slice(0, 3).map((n) => String(n.headers["wechatpay-nonce"]))).size).toBe(3);
    for (const n of r.received) expect(wechatSignatureValid(n, w.platformPublicKeyPem)).toBe(true);
    expect(bodies[3]?.event_type).toBe("REFUND.SUCCESS");
    expect(bodies[3]?.id).not.toBe(payment[0]?.id);
    expect(sandbox.deliveries().map((d) => [d.attempt, d.notificationId])).toEqual([
      [1, payment[0]?.id],
      [2, payment[0]?.id],
      [3, payment[0]?.id],
      [1, bodies[3]?.id],
    ]);
  });

  for (const provider of ["jdpay", "ecny"] as const) {
    it(`${provider}: eventId stays across retries; a refund event gets a new one`, async () => {
      const sandbox = await sandboxWith({ timing: { refundDelayMs: 20, notifyScheduleMs: { [provider]: [0, 50, 50] } } });
      let calls = 0;
      const r = await receiver(() => (++calls <= 2 ? { status: 503, body: "" } : { status: 200, body: "{}" }));
      expect(await hmacCall(sandbox, provider, "/payments", { outTradeNo: `RT${provider}01`, amountMinor: "100", subject: "x", notifyUrl: r.url })).toBe(201);
      sandbox.pay(provider, `RT${provider}01`);
      await r.waitFor(() => sandbox.deliveries().some((d) => d.acked));
      expect(await hmacCall(sandbox, provider, "/refunds", { outTradeNo: `RT${provider}01`, outRefundNo: `RT${provider}R1`, amountMinor: "40" })).toBe(201);
      await r.waitFor(() => r.received.length >= 4 && sandbox.deliveries().length >= 4);

      const bodies = r.received.map((n) => JSON.parse(n.body) as { eventId: string; eventType: string });
      expect(bodies.map((b) => b.eventType)).toEqual(["PAYMENT.SUCCEEDED", "PAYMENT.SUCCEEDED", "PAYMENT.SUCCEEDED", "REFUND.SUCCEEDED"]);
      expect(new Set(bodies.slice(0, 3).map((b) => b.eventId)).size).toBe(1);
      expect(bodies[3]?.eventId).not.toBe(bodies[0]?.eventId);
      const secret = sandbox.providers[provider].secret;
      for (const n of r.received) {
        const h = n.headers;
        expect(hmacHex(`0\n${String(h["x-sandbox-timestamp"])}\n${String(h["x-sandbox-nonce"])}\n${n.body}\n`, secret)).toBe(h["x-sandbox-signature"]);
      }
      expect(new Set(r.received.slice(0, 3).map((n) => String(n.headers["x-sandbox-nonce"]))).size).toBe(3);
    });
  }
});
