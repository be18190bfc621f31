import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseDecimal, parseDecimalScaled } from "@tributary/money";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type RunningSandbox } from "../src/index.js";
import { parseWechatBill } from "./parsers/wechat-bill-parser.js";
import { jumpClock, startReceiver, wechatCall, type NotifyReceiver } from "./support/merchant.js";

// A seeded day driven over HTTP with simulated buyers; the bill must equal what was processed.
const DAY = "2026-11-23";
const START = Date.parse("2026-11-23T06:00:00Z");
const NEXT_DAY = Date.parse("2026-11-24T02:00:00Z");
const clock = jumpClock(START);
let sandbox: RunningSandbox;
let receiver: NotifyReceiver;

beforeAll(async () => {
  receiver = await startReceiver();
  receiver.answer = () => ({ status: 204, body: "" });
  sandbox = await startSandbox({
    seed: 2026,
    keysDir: mkdtempSync(join(tmpdir(), "sandbox-keys-")),
    clock,
    buyer: { mode: "simulated", payProbability: 0.7, lateProbability: 0, latency: { kind: "uniform", minMs: 0, maxMs: 40 } },
    timing: { refundDelayMs: 20, notifyScheduleMs: { wechat: [0] } },
  });
});

afterAll(async () => {
  await sandbox.stop();
  await receiver.close();
});

const fen = (text: string | undefined): bigint => {
  const parsed = parseDecimal(text ?? "", "CNY");
  if (!parsed.ok) throw new Error(`bad amount ${text}`);
  return parsed.value.amountMinor;
};

describe("a seeded WeChat day over HTTP", () => {
  it("bills exactly what the simulated buyers paid and the merchant refunded", async () => {
    const w = sandbox.providers.wechat;
    for (let i = 0; i < 20; i++) {
      const response = await wechatCall(w, "POST", "/v3/pay/transactions/native", { appid: w.appid, mchid: w.mchid, description: `Item ${i}`, out_trade_no: `SEED${String(i).padStart(4, "0")}`, notify_url: receiver.url, amount: { total: 100 + i * 137 } }, clock.nowMs());
      expect(response.status).toBe(200);
    }
    // Every buyer has decided within 40 ms; wait well past that.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const paid = sandbox.transactions("wechat").filter((p) => p.status === "paid");
    expect(paid.length).toBeGreaterThan(5);
    expect(paid.length).toBeLessThan(20);
    for (const p of paid.slice(0, 3)) {
      const r = await wechatCall(w, "POST", "/v3/refund/domestic/refunds", { out_trade_no: p.outTradeNo, out_refund_no: `${p.outTradeNo}R`, amount: { refund: 50, total: Number(p.amountMinor), currency: "CNY" } }, clock.nowMs());
      expect(r.status).toBe(200);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));

    clock.jumpTo(NEXT_DAY);
    const bill = await wechatCall(w, "GET", `/v3/bill/tradebill?bill_date=${DAY}&bill_type=ALL`, undefined, clock.nowMs());
    const url = new URL(String(bill.json?.["download_url"]));
    const file = await wechatCall(w, "GET", `${url.pathname}${url.search}`, undefined, clock.nowMs());
    expect(createHash("sha1").update(file.raw).digest("hex")).toBe(bill.json?.["hash_value"]);
    const parsed = parseWechatBill(file.text);

    const truth = sandbox.transactions("wechat");
    const expected = truth.flatMap((p) => [
      ...(p.paidAtMs === undefined ? [] : [`SUCCESS ${p.outTradeNo} ${p.providerTradeNo} ${p.amountMinor} ${p.feeMinor}`]),
      ...p.refunds.map((r) => `REFUND ${p.outTradeNo} ${r.outRefundNo} ${r.amountMinor} ${-r.feeReturnedMinor}`),
    ]).sort();
    const fee = (text: string | undefined): bigint => {
      const v = parseDecimalScaled(text ?? "", 5);
      if (!v.ok) throw new Error("bad fee");
      return v.value / 1000n;
    };
    const actual = parsed.rows.map((r) =>
      r["交易状态"] === "REFUND"
        ? `REFUND ${r["商户订单号"]} ${r["商户退款单号"]} ${fen(r["退款金额"])} ${fee(r["手续费"])}`
        : `${r["交易状态"]} ${r["商户订单号"]} ${r["微信订单号"]} ${fen(r["应结订单金额"])} ${fee(r["手续费"])}`,
    ).sort();
    expect(actual).toEqual(expected);
    expect(parsed.summary["总交易单数"]).toBe(String(parsed.rows.length));
    expect(fen(parsed.summary["应结订单总金额"])).toBe(parsed.rows.reduce((s, r) => s + fen(r["应结订单金额"]), 0n));
    expect(fen(parsed.summary["退款总金额"])).toBe(parsed.rows.reduce((s, r) => s + fen(r["退款金额"]), 0n));
    expect(fee(parsed.summary["手续费总金额"])).toBe(parsed.rows.reduce((s, r) => s + fee(r["手续费"]), 0n));
  });
});
