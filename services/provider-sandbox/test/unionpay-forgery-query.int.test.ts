import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type RunningSandbox, type SandboxOptions } from "../src/index.js";
import { parseAcpResponse, startReceiver, unionpaySignByHand, unionpayVerifyByHand, type NotifyReceiver } from "./support/merchant.js";

const keysDir = mkdtempSync(join(tmpdir(), "sandbox-keys-"));
const running: RunningSandbox[] = [];
const receivers: NotifyReceiver[] = [];

async function sandboxWith(options: SandboxOptions): Promise<RunningSandbox> {
  const sandbox = await startSandbox({ keysDir, buyer: { mode: "manual" }, ...options });
  running.push(sandbox);
  return sandbox;
}

beforeAll(async () => {
  const first = await startSandbox({ keysDir });
  await first.stop();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

const txnTime = (ms: number): string => new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace(/[-T:]/g, "");

async function acp(sandbox: RunningSandbox, url: string, fields: Record<string, string>): Promise<Record<string, string>> {
  const up = sandbox.providers.unionpay;
  const body = unionpaySignByHand(fields, up.merchantPrivateKeyPem, up.merchantCertId);
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(body).toString() });
  return parseAcpResponse(await response.text());
}

const common = (sandbox: RunningSandbox) => ({ version: "5.1.0", encoding: "UTF-8", bizType: "000000", accessType: "0", channelType: "08", merId: sandbox.providers.unionpay.merId });

describe("a forged UnionPay back notification", () => {
  it("carries a substituted key and certId and verifies with them, but not with the platform key", async () => {
    const sandbox = await sandboxWith({ faults: { unionpay: { forgedNotifyRate: 1 } } });
    const up = sandbox.providers.unionpay;
    const r = await startReceiver();
    receivers.push(r);
    // A merchant that trusts the key inside the message: it acknowledges the forgery.
    r.answer = (body) => {
      const fields = Object.fromEntries(new URLSearchParams(body));
      return { status: unionpayVerifyByHand(fields, fields["signPubKeyCert"] ?? "") ? 200 : 400, body: "" };
    };
    const now = Date.now();
    const created = await acp(sandbox, up.backTransUrl, { ...common(sandbox), currencyCode: "156", txnType: "01", txnSubType: "07", orderId: "UPFORGE001", txnTime: txnTime(now), txnAmt: "1000", backUrl: r.url });
    expect(created["respCode"]).toBe("00");
    expect(sandbox.pay("unionpay", "UPFORGE001")).toBe(true);
    await r.waitFor(() => sandbox.deliveries().length >= 2);

    const [forged, genuine] = sandbox.deliveries();
    expect(forged).toMatchObject({ forged: true, outTradeNo: "UPFORGE001" });
    expect(genuine).toMatchObject({ forged: false, outTradeNo: "UPFORGE001" });
    const [forgedBody, genuineBody] = r.received.map((n) => Object.fromEntries(new URLSearchParams(n.body)));

    // The forgery brings its own key and a certId to match, and is signed with that key…
    expect(forgedBody?.["signPubKeyCert"]).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(forgedBody?.["signPubKeyCert"]).not.toBe(up.platformPublicKeyPem);
    expect(forgedBody?.["certId"]).toMatch(/^\d+$/);
    expect(forgedBody?.["certId"]).not.toBe(up.platformCertId);
    expect(unionpayVerifyByHand(forgedBody!, forgedBody?.["signPubKeyCert"] ?? "")).toBe(true);
    // …so only the platform key the merchant holds exposes it.
    expect(unionpayVerifyByHand(forgedBody!, up.platformPublicKeyPem)).toBe(false);
    // The trusting merchant above was fooled: deliveries() records it acknowledged the forgery.
    expect(forged?.acked).toBe(true);

    expect(genuineBody?.["signPubKeyCert"]).toBe(up.platformPublicKeyPem);
    expect(genuineBody?.["certId"]).toBe(up.platformCertId);
    expect(unionpayVerifyByHand(genuineBody!, up.platformPublicKeyPem)).toBe(true);
    // Same content otherwise: the forgery is a convincing copy.
    expect(forgedBody).toMatchObject({ orderId: "UPFORGE001", txnAmt: "1000", respCode: "00", queryId: genuineBody?.["queryId"] });
  });
});

describe("UnionPay queryTrans", () => {
  it("states currencyCode=156 with txnAmt (the query request carries no currency), pending, paid and for a refund", async () => {
    const sandbox = await sandboxWith({ timing: { refundDelayMs: 20 } });
    const up = sandbox.providers.unionpay;
    const r = await startReceiver();
    receivers.push(r);
    r.answer = () => ({ status: 200, body: "" });
    const orderTime = txnTime(Date.now());
    const created = await acp(sandbox, up.backTransUrl, { ...common(sandbox), currencyCode: "156", txnType: "01", txnSubType: "07", orderId: "UPQUERY001", txnTime: orderTime, txnAmt: "129902", backUrl: r.url });
    expect(created["respCode"]).toBe("00");
    const query = (orderId: string, time: string) => acp(sandbox, up.queryUrl, { ...common(sandbox), txnType: "00", txnSubType: "00", orderId, txnTime: time });

    const pending = await query("UPQUERY001", orderTime);
    expect(unionpayVerifyByHand(pending, up.platformPublicKeyPem)).toBe(true);
    expect(pending).toMatchObject({ respCode: "00", origRespCode: "05", txnAmt: "129902", currencyCode: "156" });

    expect(sandbox.pay("unionpay", "UPQUERY001")).toBe(true);
    const paid = await query("UPQUERY001", orderTime);
    expect(unionpayVerifyByHand(paid, up.platformPublicKeyPem)).toBe(true);
    expect(paid).toMatchObject({ respCode: "00", origRespCode: "00", origRespMsg: expect.any(String), txnAmt: "129902", currencyCode: "156", settleAmt: "129902", settleCurrencyCode: "156" });
    expect(paid["queryId"]).toMatch(/^\d{21}$/);
    expect(paid["settleDate"]).toMatch(/^\d{4}$/);
    expect(paid["traceNo"]).toMatch(/^\d{6}$/);
    expect(paid["traceTime"]).toMatch(/^\d{10}$/);

    const refundTime = txnTime(Date.now());
    const refund = await acp(sandbox, up.backTransUrl, { ...common(sandbox), txnType: "04", txnSubType: "00", orderId: "UPQUERYR01", origQryId: paid["queryId"] ?? "", txnTime: refundTime, txnAmt: "29902", backUrl: r.url });
    expect(refund["respCode"]).toBe("00");
    await r.waitFor(() => r.received.some((n) => n.body.includes("txnType=04")));
    const refunded = await query("UPQUERYR01", refundTime);
    expect(unionpayVerifyByHand(refunded, up.platformPublicKeyPem)).toBe(true);
    expect(refunded).toMatchObject({ respCode: "00", origRespCode: "00", txnAmt: "29902", currencyCode: "156", origQryId: paid["queryId"] });
  });
});
