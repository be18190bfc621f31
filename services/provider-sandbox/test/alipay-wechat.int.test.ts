import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { parseDecimal } from "@tributary/money";
import iconv from "iconv-lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, submitAlipayAppOrder, type RunningSandbox } from "../src/index.js";
import { parseAlipayCsv, readZipRaw } from "./parsers/alipay-bill-parser.js";
import { parseWechatBill } from "./parsers/wechat-bill-parser.js";
import {
  aesGcmDecrypt,
  alipayCall,
  alipayOrderString,
  jumpClock,
  rsaSha256Verify,
  sortedKv,
  startReceiver,
  wechatCall,
  type NotifyReceiver,
} from "./support/merchant.js";

// 2026-11-23 10:00 Asia/Shanghai.
const DAY = "2026-11-23";
const START = Date.parse("2026-11-23T02:00:00Z");
const NEXT_DAY = Date.parse("2026-11-24T02:00:00Z");

const fen = (text: unknown): bigint => {
  const parsed = parseDecimal(String(text), "CNY");
  if (!parsed.ok) throw new Error(`bad amount ${String(text)}`);
  return parsed.value.amountMinor;
};

let sandbox: RunningSandbox;
let receiver: NotifyReceiver;
const clock = jumpClock(START);

beforeAll(async () => {
  receiver = await startReceiver();
  sandbox = await startSandbox({
    seed: 5,
    keysDir: mkdtempSync(join(tmpdir(), "sandbox-keys-")),
    clock,
    buyer: { mode: "manual" },
    timing: { refundDelayMs: 50, notifyScheduleMs: { alipay: [0, 100, 100, 100], wechat: [0, 100, 100, 100] } },
  });
});

afterAll(async () => {
  await sandbox.stop();
  await receiver.close();
});

describe("health", () => {
  it("answers on its free port", async () => {
    const response = await fetch(`${sandbox.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok" });
  });
});

describe("Alipay over HTTP", () => {
  const alipay = () => sandbox.providers.alipay;

  it("rejects a tampered request with 40002 isv.invalid-signature, signed", async () => {
    const { payload, signatureValid } = await alipayCall(alipay(), "alipay.trade.query", { out_trade_no: "X1" }, clock.nowMs(), { tamper: true });
    expect(signatureValid).toBe(true);
    expect(payload).toMatchObject({ code: "40002", sub_code: "isv.invalid-signature" });
  });

  it("precreate → buyer pays → signed trade_status_sync retried until `success` → refund → bill", async () => {
    const created = await alipayCall(alipay(), "alipay.trade.precreate", { out_trade_no: "ALI0001", total_amount: "1299.02", subject: "Coffee" }, clock.nowMs(), { notifyUrl: receiver.url });
    expect(created.signatureValid).toBe(true);
    expect(created.payload).toMatchObject({ code: "10000", out_trade_no: "ALI0001" });
    expect(String(created.payload["qr_code"])).toMatch(/^https:\/\/qr\.alipay\.com\//);

    // Before the buyer scans, Alipay does not know the trade.
    const early = await alipayCall(alipay(), "alipay.trade.query", { out_trade_no: "ALI0001" }, clock.nowMs());
    expect(early.payload).toMatchObject({ code: "40004", sub_code: "ACQ.TRADE_NOT_EXIST" });

    let calls = 0;
    receiver.answer = () => ({ status: 200, body: ++calls === 1 ? "fail" : "success" });
    expect(sandbox.pay("alipay", "ALI0001")).toBe(true);
    await receiver.waitFor(() => receiver.received.length >= 2);
    for (const notice of receiver.received) {
      const fields = Object.fromEntries(new URLSearchParams(notice.body));
      expect(fields["notify_type"]).toBe("trade_status_sync");
      expect(fields["trade_status"]).toBe("TRADE_SUCCESS");
      expect(fields["total_amount"]).toBe("1299.02");
      // Verification drops sign and sign_type.
      expect(rsaSha256Verify(sortedKv(fields, ["sign", "sign_type"]), fields["sign"] ?? "", alipay().alipayPublicKeyPem)).toBe(true);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received).toHaveLength(2);

    const query = await alipayCall(alipay(), "alipay.trade.query", { out_trade_no: "ALI0001" }, clock.nowMs());
    expect(query.payload).toMatchObject({ code: "10000", trade_status: "TRADE_SUCCESS", total_amount: "1299.02" });

    const refund = await alipayCall(alipay(), "alipay.trade.refund", { out_trade_no: "ALI0001", refund_amount: "299.02", out_request_no: "RF1" }, clock.nowMs());
    expect(refund.payload).toMatchObject({ code: "10000", fund_change: "Y", refund_fee: "299.02" });
    const again = await alipayCall(alipay(), "alipay.trade.refund", { out_trade_no: "ALI0001", refund_amount: "299.02", out_request_no: "RF1" }, clock.nowMs());
    expect(again.payload).toMatchObject({ code: "10000", fund_change: "N" });
    const tooMuch = await alipayCall(alipay(), "alipay.trade.refund", { out_trade_no: "ALI0001", refund_amount: "1000.01", out_request_no: "RF2" }, clock.nowMs());
    expect(tooMuch.payload).toMatchObject({ code: "40004", sub_code: "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL" });
    const refundQuery = await alipayCall(alipay(), "alipay.trade.fastpay.refund.query", { out_trade_no: "ALI0001", out_request_no: "RF1" }, clock.nowMs());
    expect(refundQuery.payload).toMatchObject({ refund_status: "REFUND_SUCCESS", refund_amount: "299.02" });

    // Refunding the rest closes the trade: the notification says TRADE_CLOSED.
    receiver.received.length = 0;
    const rest = await alipayCall(alipay(), "alipay.trade.refund", { out_trade_no: "ALI0001", refund_amount: "1000.00", out_request_no: "RF3" }, clock.nowMs());
    expect(rest.payload).toMatchObject({ code: "10000", refund_fee: "1299.02" });
    await receiver.waitFor(() => receiver.received.some((n) => new URLSearchParams(n.body).get("out_biz_no") === "RF3"));
    const closing = Object.fromEntries(new URLSearchParams(receiver.received.find((n) => n.body.includes("RF3"))!.body));
    expect(closing).toMatchObject({ trade_status: "TRADE_CLOSED", refund_fee: "1299.02" });
    expect(rsaSha256Verify(sortedKv(closing, ["sign", "sign_type"]), closing["sign"] ?? "", alipay().alipayPublicKeyPem)).toBe(true);
    const closedQuery = await alipayCall(alipay(), "alipay.trade.query", { out_trade_no: "ALI0001" }, clock.nowMs());
    expect(closedQuery.payload).toMatchObject({ trade_status: "TRADE_CLOSED" });

    const notYet = await alipayCall(alipay(), "alipay.data.dataservice.bill.downloadurl.query", { bill_type: "trade", bill_date: DAY }, clock.nowMs());
    expect(notYet.payload).toMatchObject({ code: "40004", sub_code: "isp.bill_not_exist" });

    clock.jumpTo(NEXT_DAY);
    const url = await alipayCall(alipay(), "alipay.data.dataservice.bill.downloadurl.query", { bill_type: "trade", bill_date: DAY }, clock.nowMs());
    expect(url.signatureValid).toBe(true);
    const zip = Buffer.from(await (await fetch(String(url.payload["bill_download_url"]))).arrayBuffer());
    const entries = await readZipRaw(zip);
    const detail = parseAlipayCsv(entries.find((e) => e.name.endsWith("_业务明细.csv"))!.data);
    const truth = sandbox.transactions("alipay");
    expect(detail.rows).toHaveLength(truth.length + truth.reduce((n, p) => n + p.refunds.length, 0));
    const trade = detail.rows.find((r) => r["业务类型"] === "交易");
    expect(trade?.["商户订单号"]).toBe("ALI0001\t");
    expect(fen(trade?.["商家实收（元）"])).toBe(129902n);
    expect(fen(trade?.["服务费（元）"])).toBe(-779n);
    const refundRow = detail.rows.find((r) => r["退款批次号/请求号"] === "RF1\t");
    expect(fen(refundRow?.["商家实收（元）"])).toBe(-29902n);
    // As in real exports, a refund row's 订单金额 is negative too.
    expect(fen(refundRow?.["订单金额（元）"])).toBe(-29902n);
    expect(fen(trade?.["订单金额（元）"])).toBe(129902n);
    // Separator lines as in real exports, found by their marker text.
    const detailLines = iconv.decode(entries.find((e) => e.name.endsWith("_业务明细.csv"))!.data, "gbk").split("\r\n");
    expect(detailLines.filter((l) => /^#-+业务明细列表-+$/.test(l))).toEqual([`#${"-".repeat(41)}业务明细列表${"-".repeat(40)}`]);
    expect(detailLines.filter((l) => /^#-+业务明细列表结束-+$/.test(l))).toEqual([`#${"-".repeat(41)}业务明细列表结束${"-".repeat(36)}`]);
    // The two refunds give back exactly the 7.79 fee.
    expect(detail.rows.filter((r) => r["业务类型"] === "退款").reduce((s, r) => s + fen(r["服务费（元）"]), 0n)).toBe(779n);
    clock.jumpTo(START + 60_000);
  });
});

describe("Alipay's app and mini-program products", () => {
  const alipay = () => sandbox.providers.alipay;

  it("trade.create names its buyer, exists at once (WAIT_BUYER_PAY), and is paid by that buyer", async () => {
    const created = await alipayCall(
      alipay(),
      "alipay.trade.create",
      { out_trade_no: "ALIMP01", total_amount: "88.00", subject: "Tea", buyer_id: "2088102146225135", product_code: "JSAPI_PAY" },
      clock.nowMs(),
      { notifyUrl: receiver.url },
    );
    expect(created.signatureValid).toBe(true);
    expect(created.payload).toMatchObject({ code: "10000", out_trade_no: "ALIMP01" });
    expect(String(created.payload["trade_no"])).toMatch(/^\d{8}22001\d{15}$/);
    const waiting = await alipayCall(alipay(), "alipay.trade.query", { out_trade_no: "ALIMP01" }, clock.nowMs());
    expect(waiting.payload).toMatchObject({ code: "10000", trade_status: "WAIT_BUYER_PAY" });
    receiver.answer = () => ({ status: 200, body: "success" });
    expect(sandbox.pay("alipay", "ALIMP01")).toBe(true);
    const paid = await alipayCall(alipay(), "alipay.trade.query", { out_trade_no: "ALIMP01" }, clock.nowMs());
    expect(paid.payload).toMatchObject({ trade_status: "TRADE_SUCCESS", buyer_user_id: "2088102146225135" });
  });

  it("trade.create without a buyer, or with a malformed buyer_id, is refused and creates nothing", async () => {
    const none = await alipayCall(alipay(), "alipay.trade.create", { out_trade_no: "ALIMP02", total_amount: "1.00", subject: "x" }, clock.nowMs());
    expect(none.payload).toMatchObject({ code: "40004", sub_code: "ACQ.INVALID_PARAMETER" });
    const bad = await alipayCall(alipay(), "alipay.trade.create", { out_trade_no: "ALIMP02", total_amount: "1.00", subject: "x", buyer_id: "1234" }, clock.nowMs());
    expect(bad.payload).toMatchObject({ code: "40004", sub_code: "ACQ.INVALID_PARAMETER", sub_msg: "参数无效: buyer_id" });
    const query = await alipayCall(alipay(), "alipay.trade.query", { out_trade_no: "ALIMP02" }, clock.nowMs());
    expect(query.payload).toMatchObject({ sub_code: "ACQ.TRADE_NOT_EXIST" });
  });

  it("an app payment's order string creates the trade only when the buyer's app submits it, verified like a gateway call", async () => {
    const biz = { out_trade_no: "ALIAPP1", total_amount: "19.90", subject: "Socks", product_code: "QUICK_MSECURITY_PAY" };
    const orderString = alipayOrderString(alipay(), "alipay.trade.app.pay", biz, clock.nowMs());
    const before = await alipayCall(alipay(), "alipay.trade.query", { out_trade_no: "ALIAPP1" }, clock.nowMs());
    expect(before.payload).toMatchObject({ sub_code: "ACQ.TRADE_NOT_EXIST" });

    const tampered = await submitAlipayAppOrder(alipay().appPayUrl, orderString.replace("19.90", "0.01"));
    expect(tampered).toMatchObject({ code: "40002", subCode: "isv.invalid-signature" });
    const submitted = await submitAlipayAppOrder(alipay().appPayUrl, orderString);
    expect(submitted.code).toBe("10000");
    expect(submitted.tradeNo).toMatch(/^\d{8}22001\d{15}$/);
    // The buyer's app retrying the same order string meets the same trade.
    expect((await submitAlipayAppOrder(alipay().appPayUrl, orderString)).tradeNo).toBe(submitted.tradeNo);
    const waiting = await alipayCall(alipay(), "alipay.trade.query", { out_trade_no: "ALIAPP1" }, clock.nowMs());
    expect(waiting.payload).toMatchObject({ code: "10000", trade_status: "WAIT_BUYER_PAY", total_amount: "19.90" });
    expect(sandbox.pay("alipay", "ALIAPP1")).toBe(true);
    const paid = await alipayCall(alipay(), "alipay.trade.query", { out_trade_no: "ALIAPP1" }, clock.nowMs());
    expect(paid.payload).toMatchObject({ trade_status: "TRADE_SUCCESS" });
  });
});

describe("WeChat Pay v3 over HTTP", () => {
  const wechat = () => sandbox.providers.wechat;

  it("answers a bad signature with 401 SIGN_ERROR, signed", async () => {
    const response = await wechatCall(wechat(), "GET", `/v3/pay/transactions/out-trade-no/NOPE?mchid=${wechat().mchid}`, undefined, clock.nowMs(), { badSignature: true });
    expect(response.status).toBe(401);
    expect(response.json).toMatchObject({ code: "SIGN_ERROR" });
    expect(response.signatureValid).toBe(true);
  });

  it("answers an unknown order with 404 {code, message}", async () => {
    const response = await wechatCall(wechat(), "GET", `/v3/pay/transactions/out-trade-no/NOPE0001?mchid=${wechat().mchid}`, undefined, clock.nowMs());
    expect(response.status).toBe(404);
    expect(response.json).toMatchObject({ code: "ORDER_NOT_EXIST" });
    expect(typeof response.json?.["message"]).toBe("string");
  });

  it("native → pay → encrypted callback retried until 204 → refund callback → query → bill with SHA-1", async () => {
    receiver.received.length = 0;
    let calls = 0;
    receiver.answer = () => (++calls === 1 ? { status: 500, body: '{"code":"FAIL","message":"busy"}' } : { status: 204, body: "" });
    const body = { appid: wechat().appid, mchid: wechat().mchid, description: "Tea", out_trade_no: "WX0000001", notify_url: receiver.url, amount: { total: 129902, currency: "CNY" } };
    const created = await wechatCall(wechat(), "POST", "/v3/pay/transactions/native", body, clock.nowMs());
    expect(created.status).toBe(200);
    expect(created.signatureValid).toBe(true);
    expect(String(created.json?.["code_url"])).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);

    const pending = await wechatCall(wechat(), "GET", `/v3/pay/transactions/out-trade-no/WX0000001?mchid=${wechat().mchid}`, undefined, clock.nowMs());
    expect(pending.json).toMatchObject({ trade_state: "NOTPAY" });

    expect(sandbox.pay("wechat", "WX0000001")).toBe(true);
    await receiver.waitFor(() => receiver.received.length >= 2);
    for (const notice of receiver.received) {
      const h = notice.headers;
      expect(rsaSha256Verify(`${String(h["wechatpay-timestamp"])}\n${String(h["wechatpay-nonce"])}\n${notice.body}\n`, String(h["wechatpay-signature"]), wechat().platformPublicKeyPem)).toBe(true);
      expect(h["wechatpay-serial"]).toBe(wechat().platformSerial);
      const event = JSON.parse(notice.body) as { event_type: string; resource: { ciphertext: string; nonce: string; associated_data: string } };
      expect(event.event_type).toBe("TRANSACTION.SUCCESS");
      const transaction = JSON.parse(aesGcmDecrypt(wechat().apiV3Key, event.resource)) as Record<string, unknown>;
      expect(transaction).toMatchObject({ out_trade_no: "WX0000001", trade_state: "SUCCESS", amount: { total: 129902 } });
    }

    const byId = await wechatCall(wechat(), "GET", `/v3/pay/transactions/out-trade-no/WX0000001?mchid=${wechat().mchid}`, undefined, clock.nowMs());
    const transactionId = String(byId.json?.["transaction_id"]);
    const again = await wechatCall(wechat(), "GET", `/v3/pay/transactions/id/${transactionId}?mchid=${wechat().mchid}`, undefined, clock.nowMs());
    expect(again.json).toMatchObject({ trade_state: "SUCCESS", out_trade_no: "WX0000001" });

    receiver.received.length = 0;
    const refund = await wechatCall(wechat(), "POST", "/v3/refund/domestic/refunds", { out_trade_no: "WX0000001", out_refund_no: "WXR1", notify_url: receiver.url, amount: { refund: 29902, total: 129902, currency: "CNY" } }, clock.nowMs());
    expect(refund.status).toBe(200);
    expect(refund.json).toMatchObject({ status: "PROCESSING", amount: { refund: 29902 } });
    await receiver.waitFor(() => receiver.received.some((n) => n.body.includes("REFUND.SUCCESS")));
    const tooMuch = await wechatCall(wechat(), "POST", "/v3/refund/domestic/refunds", { out_trade_no: "WX0000001", out_refund_no: "WXR2", amount: { refund: 100001, total: 129902, currency: "CNY" } }, clock.nowMs());
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.json).toMatchObject({ code: "INVALID_REQUEST" });

    const closedPaid = await wechatCall(wechat(), "POST", "/v3/pay/transactions/out-trade-no/WX0000001/close", { mchid: wechat().mchid }, clock.nowMs());
    expect(closedPaid.status).toBe(400);

    clock.jumpTo(NEXT_DAY);
    const bill = await wechatCall(wechat(), "GET", `/v3/bill/tradebill?bill_date=${DAY}&bill_type=ALL&tar_type=GZIP`, undefined, clock.nowMs());
    expect(bill.status).toBe(200);
    expect(bill.signatureValid).toBe(true);
    const downloadUrl = new URL(String(bill.json?.["download_url"]));
    const file = await wechatCall(wechat(), "GET", `${downloadUrl.pathname}${downloadUrl.search}`, undefined, clock.nowMs());
    const raw = gunzipSync(file.raw);
    expect(createHash("sha1").update(raw).digest("hex")).toBe(bill.json?.["hash_value"]);
    const parsed = parseWechatBill(raw.toString("utf8"));
    const pay = parsed.rows.find((r) => r["商户订单号"] === "WX0000001" && r["交易状态"] === "SUCCESS");
    expect(pay?.["应结订单金额"]).toBe("1299.02");
    expect(pay?.["手续费"]).toBe("7.79000");
    expect(pay?.["费率"]).toBe("0.60%");
    const refundRow = parsed.rows.find((r) => r["交易状态"] === "REFUND");
    expect(refundRow?.["退款金额"]).toBe("299.02");
    expect(refundRow?.["手续费"]).toBe("-1.79000");
    clock.jumpTo(START + 120_000);
  });

  it("rejects bad input with PARAM_ERROR and keeps idempotent creates", async () => {
    const bad = await wechatCall(wechat(), "POST", "/v3/pay/transactions/native", { appid: wechat().appid, mchid: wechat().mchid, description: "x", out_trade_no: "WX0000002", notify_url: receiver.url, amount: { total: 0 } }, clock.nowMs());
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: "PARAM_ERROR" });
    const body = { appid: wechat().appid, mchid: wechat().mchid, description: "x", out_trade_no: "WX0000003", notify_url: receiver.url, amount: { total: 5 } };
    const first = await wechatCall(wechat(), "POST", "/v3/pay/transactions/native", body, clock.nowMs());
    const second = await wechatCall(wechat(), "POST", "/v3/pay/transactions/native", body, clock.nowMs());
    expect(second.json).toEqual(first.json);
    const conflict = await wechatCall(wechat(), "POST", "/v3/pay/transactions/native", { ...body, amount: { total: 6 } }, clock.nowMs());
    expect(conflict.status).toBe(403);
    expect(conflict.json).toMatchObject({ code: "OUT_TRADE_NO_USED" });
    const closed = await wechatCall(wechat(), "POST", "/v3/pay/transactions/out-trade-no/WX0000003/close", { mchid: wechat().mchid }, clock.nowMs());
    expect(closed.status).toBe(204);
    expect(sandbox.pay("wechat", "WX0000003")).toBe(false);
  });
});
