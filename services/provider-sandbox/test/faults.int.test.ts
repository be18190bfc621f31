import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type RunningSandbox, type SandboxOptions } from "../src/index.js";
import { alipayCall, hmacHex, rsaSha256Verify, sortedKv, startReceiver, wechatCall, type NotifyReceiver } from "./support/merchant.js";

const keysDir = mkdtempSync(join(tmpdir(), "sandbox-keys-"));
const running: RunningSandbox[] = [];
const receivers: NotifyReceiver[] = [];

async function sandboxWith(options: SandboxOptions): Promise<RunningSandbox> {
  const sandbox = await startSandbox({ keysDir, buyer: { mode: "manual" }, ...options });
  running.push(sandbox);
  return sandbox;
}
async function receiver(): Promise<NotifyReceiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

beforeAll(async () => {
  // Generate the shared keys once.
  const first = await startSandbox({ keysDir });
  await first.stop();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

/** An Alipay merchant endpoint that verifies the signature and answers like a careful merchant. */
function verifyingAlipayMerchant(r: NotifyReceiver, alipayPublicKeyPem: string): void {
  r.answer = (body) => {
    const fields = Object.fromEntries(new URLSearchParams(body));
    const valid = rsaSha256Verify(sortedKv(fields, ["sign", "sign_type"]), fields["sign"] ?? "", alipayPublicKeyPem);
    return { status: 200, body: valid ? "success" : "fail" };
  };
}

describe("seeded fault injection", () => {
  it("replays the same faults for the same seed", async () => {
    const statuses = async (seed: number): Promise<number[]> => {
      const sandbox = await sandboxWith({ seed, faults: { wechat: { serverErrorRate: 0.5 } } });
      const out: number[] = [];
      for (let i = 0; i < 16; i++) {
        const response = await wechatCall(sandbox.providers.wechat, "GET", `/v3/pay/transactions/out-trade-no/NONE000${i}?mchid=${sandbox.providers.wechat.mchid}`, undefined, Date.now());
        out.push(response.status);
      }
      return out;
    };
    const first = await statuses(77);
    expect(await statuses(77)).toEqual(first);
    expect(first).toContain(500);
    expect(first).toContain(404);
    expect(await statuses(78)).not.toEqual(first);
  });

  it("answers 5xx in each provider's shape", async () => {
    const sandbox = await sandboxWith({ faults: { wechat: { serverErrorRate: 1 }, alipay: { serverErrorRate: 1 } } });
    const wx = await wechatCall(sandbox.providers.wechat, "GET", `/v3/pay/transactions/out-trade-no/ANY00001?mchid=1`, undefined, Date.now());
    expect(wx.status).toBe(500);
    expect(wx.json).toMatchObject({ code: "SYSTEM_ERROR" });
    const response = await fetch(sandbox.providers.alipay.gatewayUrl, { method: "POST", body: "" });
    expect(response.status).toBe(502);
  });

  it("answers slowly but correctly", async () => {
    const sandbox = await sandboxWith({ faults: { wechat: { slowRate: 1, slowMs: 50 } } });
    const w = sandbox.providers.wechat;
    const response = await wechatCall(w, "GET", `/v3/pay/transactions/out-trade-no/SLOW0001?mchid=${w.mchid}`, undefined, Date.now());
    expect(response.status).toBe(404);
    expect(response.signatureValid).toBe(true);
  });

  it("declines a barcode payment with Alipay's sub_code", async () => {
    const sandbox = await sandboxWith({ faults: { alipay: { declineRate: 1 } } });
    const result = await alipayCall(sandbox.providers.alipay, "alipay.trade.pay", { out_trade_no: "DECL0001", scene: "bar_code", auth_code: "281234567890123456", total_amount: "10.00", subject: "x" }, Date.now());
    expect(result.payload).toMatchObject({ code: "40004", sub_code: "ACQ.BUYER_BALANCE_NOT_ENOUGH" });
  });

  it("times out after doing the work: the merchant hears nothing but the order exists", async () => {
    const sandbox = await sandboxWith({ faults: { wechat: { timeoutRate: 1, timeoutMs: 100 } } });
    const w = sandbox.providers.wechat;
    await expect(
      wechatCall(w, "POST", "/v3/pay/transactions/native", { appid: w.appid, mchid: w.mchid, description: "t", out_trade_no: "TIMEOUT01", notify_url: "http://127.0.0.1:9/n", amount: { total: 100 } }, Date.now()),
    ).rejects.toThrow();
    expect(sandbox.transactions("wechat").map((p) => p.outTradeNo)).toEqual(["TIMEOUT01"]);
  });

  it("sends a forged notification first; a verifying merchant rejects it and accepts the genuine one", async () => {
    const sandbox = await sandboxWith({ faults: { alipay: { forgedNotifyRate: 1 } }, timing: { notifyScheduleMs: { alipay: [0, 100] } } });
    const r = await receiver();
    verifyingAlipayMerchant(r, sandbox.providers.alipay.alipayPublicKeyPem);
    await alipayCall(sandbox.providers.alipay, "alipay.trade.precreate", { out_trade_no: "FORGE001", total_amount: "1.00", subject: "x" }, Date.now(), { notifyUrl: r.url });
    sandbox.pay("alipay", "FORGE001");
    await r.waitFor(() => sandbox.deliveries().some((d) => !d.forged && d.acked));
    const forged = sandbox.deliveries().filter((d) => d.forged);
    expect(forged).toHaveLength(1);
    expect(forged[0]?.acked).toBe(false);
  });

  it("duplicates a notification", async () => {
    const sandbox = await sandboxWith({ faults: { alipay: { duplicateNotifyRate: 1 } } });
    const r = await receiver();
    verifyingAlipayMerchant(r, sandbox.providers.alipay.alipayPublicKeyPem);
    await alipayCall(sandbox.providers.alipay, "alipay.trade.precreate", { out_trade_no: "DUPL0001", total_amount: "1.00", subject: "x" }, Date.now(), { notifyUrl: r.url });
    sandbox.pay("alipay", "DUPL0001");
    await r.waitFor(() => r.received.length >= 2);
    const ids = r.received.map((n) => new URLSearchParams(n.body).get("notify_id"));
    expect(ids[0]).toBe(ids[1]);
  });

  it("loses a notification: the merchant must query", async () => {
    const sandbox = await sandboxWith({ faults: { alipay: { lostNotifyRate: 1 } } });
    const r = await receiver();
    await alipayCall(sandbox.providers.alipay, "alipay.trade.precreate", { out_trade_no: "LOST0001", total_amount: "1.00", subject: "x" }, Date.now(), { notifyUrl: r.url });
    sandbox.pay("alipay", "LOST0001");
    // Give a notification that was not lost ample time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const query = await alipayCall(sandbox.providers.alipay, "alipay.trade.query", { out_trade_no: "LOST0001" }, Date.now());
    expect(query.payload).toMatchObject({ trade_status: "TRADE_SUCCESS" });
    expect(sandbox.deliveries()).toHaveLength(0);
    expect(r.received).toHaveLength(0);
  });

  it("delivers a success notification after the merchant tried to close", async () => {
    const sandbox = await sandboxWith({ faults: { wechat: { lateNotifyAfterCloseRate: 1, lateNotifyDelayMs: 50 } } });
    const r = await receiver();
    r.answer = () => ({ status: 204, body: "" });
    const w = sandbox.providers.wechat;
    await wechatCall(w, "POST", "/v3/pay/transactions/native", { appid: w.appid, mchid: w.mchid, description: "t", out_trade_no: "LATE00001", notify_url: r.url, amount: { total: 100 } }, Date.now());
    const close = await wechatCall(w, "POST", "/v3/pay/transactions/out-trade-no/LATE00001/close", { mchid: w.mchid }, Date.now());
    expect(close.status).toBe(400);
    expect(close.json).toMatchObject({ code: "ORDERPAID" });
    await r.waitFor(() => r.received.length >= 1);
    expect(JSON.parse(r.received[0]!.body)).toMatchObject({ event_type: "TRANSACTION.SUCCESS" });
  });
});

describe("simulated buyer", () => {
  it("pays on its own after the configured latency, or walks away", async () => {
    const payer = await startSandbox({ keysDir, buyer: { mode: "simulated", payProbability: 1, lateProbability: 0, latency: { kind: "fixed", ms: 20 } }, timing: { notifyScheduleMs: { ecny: [0] } } });
    running.push(payer);
    const r = await receiver();
    const creds = payer.providers.ecny;
    const body = JSON.stringify({ outTradeNo: "BUYER001", amountMinor: "100", subject: "x", notifyUrl: r.url });
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(4).toString("hex");
    const response = await fetch(`${creds.baseUrl}/payments`, {
      method: "POST",
      headers: { "x-sandbox-merchant-id": creds.merchantId, "x-sandbox-timestamp": ts, "x-sandbox-nonce": nonce, "x-sandbox-signature": hmacHex(`POST\n/ecny/v1/payments\n${ts}\n${nonce}\n${body}\n`, creds.secret) },
      body,
    });
    expect(response.status).toBe(201);
    await r.waitFor(() => r.received.length >= 1);
    expect(payer.transactions("ecny")[0]?.status).toBe("paid");

    const walker = await startSandbox({ keysDir, buyer: { mode: "simulated", payProbability: 0, lateProbability: 0 } });
    running.push(walker);
    await alipayCall(walker.providers.alipay, "alipay.trade.precreate", { out_trade_no: "WALK0001", total_amount: "1.00", subject: "x" }, Date.now());
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(walker.transactions("alipay")[0]?.status).toBe("pending");
  });
});
