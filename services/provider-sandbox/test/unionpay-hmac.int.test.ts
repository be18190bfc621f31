import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type RunningSandbox } from "../src/index.js";
import { readZipRaw } from "./parsers/alipay-bill-parser.js";
import { parseGenericBill } from "./parsers/generic-bill-parser.js";
import { parseFixedWidth, signedFen, ZM_WIDTHS } from "./parsers/unionpay-zm-parser.js";
import { hmacHex, jumpClock, parseAcpResponse, startReceiver, unionpaySignByHand, unionpayVerifyByHand, type NotifyReceiver } from "./support/merchant.js";

const DAY = "2026-11-23";
const START = Date.parse("2026-11-23T02:00:00Z");
const NEXT_DAY = Date.parse("2026-11-24T02:00:00Z");

let sandbox: RunningSandbox;
let receiver: NotifyReceiver;
const clock = jumpClock(START);

beforeAll(async () => {
  receiver = await startReceiver();
  sandbox = await startSandbox({
    seed: 9,
    keysDir: mkdtempSync(join(tmpdir(), "sandbox-keys-")),
    clock,
    buyer: { mode: "manual" },
    timing: { refundDelayMs: 50, notifyScheduleMs: { unionpay: [0, 100, 100], jdpay: [0, 100, 100], ecny: [0, 100] } },
  });
});

afterAll(async () => {
  await sandbox.stop();
  await receiver.close();
});

const txnTime = (ms: number): string => {
  const d = new Date(ms + 8 * 3600_000).toISOString();
  return d.slice(0, 19).replace(/[-T:]/g, "");
};

async function acp(url: string, fields: Record<string, string>, sign = true): Promise<Record<string, string>> {
  const up = sandbox.providers.unionpay;
  const body = sign ? unionpaySignByHand(fields, up.merchantPrivateKeyPem, up.merchantCertId) : fields;
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(body).toString() });
  return parseAcpResponse(await response.text());
}

describe("UnionPay over HTTP", () => {
  const common = () => ({ version: "5.1.0", encoding: "UTF-8", bizType: "000000", accessType: "0", channelType: "08", merId: sandbox.providers.unionpay.merId, currencyCode: "156" });

  it("QR consume → buyer pays → signed backUrl notification → query → refund → ZM file", async () => {
    const up = sandbox.providers.unionpay;
    receiver.received.length = 0;
    receiver.answer = () => ({ status: 200, body: "ok" });
    const created = await acp(up.backTransUrl, { ...common(), txnType: "01", txnSubType: "07", orderId: "UP00000001", txnTime: txnTime(clock.nowMs()), txnAmt: "129902", backUrl: receiver.url });
    expect(created["respCode"]).toBe("00");
    expect(unionpayVerifyByHand(created, up.platformPublicKeyPem)).toBe(true);
    expect(created["qrCode"]).toMatch(/^https:\/\/qr\.95516\.com\//);

    expect(sandbox.pay("unionpay", "UP00000001")).toBe(true);
    await receiver.waitFor(() => receiver.received.length >= 1);
    const notice = Object.fromEntries(new URLSearchParams(receiver.received[0]!.body));
    expect(notice).toMatchObject({ respCode: "00", orderId: "UP00000001", txnAmt: "129902", signMethod: "01" });
    expect(unionpayVerifyByHand(notice, up.platformPublicKeyPem)).toBe(true);
    expect(unionpayVerifyByHand({ ...notice, txnAmt: "129903" }, up.platformPublicKeyPem)).toBe(false);

    const query = await acp(up.queryUrl, { ...common(), txnType: "00", txnSubType: "00", orderId: "UP00000001", txnTime: txnTime(clock.nowMs()) });
    expect(query).toMatchObject({ respCode: "00", origRespCode: "00", queryId: notice["queryId"] });

    const refund = await acp(up.backTransUrl, { ...common(), txnType: "04", txnSubType: "00", orderId: "UPR0000001", origQryId: notice["queryId"] ?? "", txnTime: txnTime(clock.nowMs()), txnAmt: "29902", backUrl: receiver.url });
    expect(refund["respCode"]).toBe("00");
    await receiver.waitFor(() => receiver.received.some((r) => r.body.includes("txnType=04")));

    const tooMuch = await acp(up.backTransUrl, { ...common(), txnType: "04", txnSubType: "00", orderId: "UPR0000002", origQryId: notice["queryId"] ?? "", txnTime: txnTime(clock.nowMs()), txnAmt: "100001", backUrl: receiver.url });
    expect(tooMuch["respCode"]).toBe("33");

    clock.jumpTo(NEXT_DAY);
    const file = await acp(up.fileTransferUrl, { ...common(), txnType: "76", txnSubType: "01", fileType: "00", settleDate: "1123", txnTime: txnTime(clock.nowMs()) });
    expect(file["respCode"]).toBe("00");
    const entries = await readZipRaw(inflateSync(Buffer.from(file["fileContent"] ?? "", "base64")));
    const zm = entries.find((e) => /ZM_/.test(e.name));
    const records = parseFixedWidth(zm!.data, ZM_WIDTHS);
    expect(records).toHaveLength(2);
    const consume = records.find((r) => r[0] === "S22")!;
    expect(consume[11]).toBe("UP00000001");
    expect(signedFen(consume[16]!)).toBe(129902n);
    expect(signedFen(consume[15]!)).toBe(-494n);
    const back = records.find((r) => r[0] === "S30")!;
    expect(signedFen(back[16]!)).toBe(-29902n);
    clock.jumpTo(START + 60_000);
  });

  it("answers a bad signature with respCode 11 and missing fields with 13", async () => {
    const up = sandbox.providers.unionpay;
    const fields = { ...common(), txnType: "01", txnSubType: "07", orderId: "UP00000002", txnTime: txnTime(clock.nowMs()), txnAmt: "100", backUrl: receiver.url };
    const signed = unionpaySignByHand(fields, up.merchantPrivateKeyPem, up.merchantCertId);
    const tampered = await acp(up.backTransUrl, { ...signed, txnAmt: "101" }, false);
    expect(tampered["respCode"]).toBe("11");
    const missing = await acp(up.backTransUrl, { ...common(), txnType: "01", txnSubType: "07", txnTime: txnTime(clock.nowMs()), txnAmt: "100", backUrl: receiver.url });
    expect(missing["respCode"]).toBe("13");
  });
});

describe("JD Pay and e-CNY over HTTP", () => {
  async function call(provider: "jdpay" | "ecny", method: string, path: string, body?: object, badSignature = false) {
    const creds = sandbox.providers[provider];
    const url = new URL(`${creds.baseUrl}${path}`);
    const text = body === undefined ? "" : JSON.stringify(body);
    const timestamp = String(Math.floor(clock.nowMs() / 1000));
    const nonce = randomBytes(8).toString("hex");
    const signature = hmacHex(`${method}\n${url.pathname}${url.search}\n${timestamp}\n${nonce}\n${text}\n`, badSignature ? "wrong" : creds.secret);
    const response = await fetch(url, {
      method,
      headers: { "content-type": "application/json", "x-sandbox-merchant-id": creds.merchantId, "x-sandbox-timestamp": timestamp, "x-sandbox-nonce": nonce, "x-sandbox-signature": signature },
      ...(body === undefined ? {} : { body: text }),
    });
    const out = await response.text();
    const valid = hmacHex(`${response.status}\n${response.headers.get("x-sandbox-timestamp")}\n${response.headers.get("x-sandbox-nonce")}\n${out}\n`, creds.secret) === response.headers.get("x-sandbox-signature");
    return { status: response.status, text: out, valid };
  }

  for (const provider of ["jdpay", "ecny"] as const) {
    it(`${provider}: create → pay → signed notification → refund → CSV bill`, async () => {
      receiver.received.length = 0;
      receiver.answer = () => ({ status: 200, body: "{}" });
      const created = await call(provider, "POST", "/payments", { outTradeNo: `${provider}0001`, amountMinor: "129902", currency: "CNY", subject: "Tea", notifyUrl: receiver.url });
      expect(created.status).toBe(201);
      expect(created.valid).toBe(true);
      expect(JSON.parse(created.text)).toMatchObject({ status: "PENDING", amountMinor: "129902" });
      const bad = await call(provider, "POST", "/payments", { outTradeNo: `${provider}0002`, amountMinor: "1", subject: "x" }, true);
      expect(bad.status).toBe(401);
      expect(JSON.parse(bad.text)).toMatchObject({ error: { code: "INVALID_SIGNATURE" } });

      expect(sandbox.pay(provider, `${provider}0001`)).toBe(true);
      await receiver.waitFor(() => receiver.received.length >= 1);
      const notice = receiver.received[0]!;
      const h = notice.headers;
      expect(hmacHex(`0\n${String(h["x-sandbox-timestamp"])}\n${String(h["x-sandbox-nonce"])}\n${notice.body}\n`, sandbox.providers[provider].secret)).toBe(h["x-sandbox-signature"]);
      expect(JSON.parse(notice.body)).toMatchObject({ eventType: "PAYMENT.SUCCEEDED", data: { outTradeNo: `${provider}0001`, status: "SUCCEEDED" } });

      const refund = await call(provider, "POST", "/refunds", { outTradeNo: `${provider}0001`, outRefundNo: `${provider}R1`, amountMinor: "29902" });
      expect(refund.status).toBe(201);
      const over = await call(provider, "POST", "/refunds", { outTradeNo: `${provider}0001`, outRefundNo: `${provider}R2`, amountMinor: "100001" });
      expect(over.status).toBe(422);
      await receiver.waitFor(() => receiver.received.some((r) => r.body.includes("REFUND.SUCCEEDED")));

      clock.jumpTo(NEXT_DAY);
      const bill = await call(provider, "GET", `/bills/${DAY}`);
      expect(bill.status).toBe(200);
      expect(bill.valid).toBe(true);
      const parsed = parseGenericBill(bill.text);
      const fee = provider === "jdpay" ? 779n : 0n;
      expect(parsed.rows.find((r) => r["record_type"] === "PAYMENT")).toMatchObject({ out_trade_no: `${provider}0001`, amount_minor: "129902", fee_minor: fee.toString() });
      expect(parsed.rows.find((r) => r["record_type"] === "REFUND")).toMatchObject({ amount_minor: "-29902" });
      clock.jumpTo(START + 60_000);
    });
  }
});
