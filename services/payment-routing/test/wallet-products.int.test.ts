import { submitAlipayAppOrder } from "@tributary/provider-sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPaymentRoutingTestEnv, type PaymentRoutingTestEnv } from "./payment-routing-test-env.js";

/*
 * The products that need more than a QR code, end to end through the service (Kafka, Postgres,
 * the sandbox over HTTP): WeChat JSAPI and Alipay's mini-program payment are created for the
 * buyer's account the order carries; an Alipay app payment is an order string that the buyer's
 * app submits. A mini-program order without the account is not sent anywhere.
 */

const OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
const ALIPAY_USER = "2088102146225135";

let env: PaymentRoutingTestEnv;

beforeAll(async () => {
  env = await startPaymentRoutingTestEnv({ providers: ["alipay", "wechat_pay"] });
});

afterAll(async () => {
  await env?.stop();
});

describe("wallet products", () => {
  it("WeChat JSAPI: created for the order's openid, paid by that buyer, captured", async () => {
    const orderId = await env.acceptOrder({ channel: "mini_program", preferred: "wechat_pay", buyerAccounts: { wechat_pay: OPENID } });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", "a pending JSAPI payment");
    expect(pending.provider).toBe("wechat_pay");
    expect(pending.buyerAccounts).toEqual({ wechat_pay: OPENID });
    expect(pending.buyerAction).toMatchObject({ kind: "app_params", params: { package: expect.stringMatching(/^prepay_id=/) } });
    expect(env.pay(pending)).toBe(true);
    await env.waitForEvent(orderId, "PaymentCaptured");
    expect(env.sandbox.transactions("wechat").find((t) => t.outTradeNo === pending.paymentId)?.buyerId).toBe(OPENID);
  });

  it("Alipay mini-program: alipay.trade.create for the buyer's Alipay id, its trade_no handed to the mini-program, captured", async () => {
    const orderId = await env.acceptOrder({ channel: "mini_program", preferred: "alipay", buyerAccounts: { alipay: ALIPAY_USER, wechat_pay: OPENID } });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", "a pending Alipay mini-program payment");
    expect(pending.provider).toBe("alipay");
    const tradeNo = pending.buyerAction?.kind === "app_params" ? pending.buyerAction.params["tradeNO"] : undefined;
    expect(tradeNo).toMatch(/^\d{8}22001\d{15}$/);
    expect(env.pay(pending)).toBe(true);
    const captured = await env.waitForEvent(orderId, "PaymentCaptured");
    expect(captured["providerTransactionId"]).toBe(tradeNo);
    expect(env.sandbox.transactions("alipay").find((t) => t.outTradeNo === pending.paymentId)?.buyerId).toBe(ALIPAY_USER);
  });

  it("Alipay app: the order string waits for the buyer's app; once submitted and paid, captured", async () => {
    const orderId = await env.acceptOrder({ channel: "app", preferred: "alipay" });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", "a pending Alipay app payment");
    const orderString = pending.buyerAction?.kind === "app_params" ? pending.buyerAction.params["orderStr"] : undefined;
    expect(orderString).toContain("method=alipay.trade.app.pay");
    // Nothing exists at Alipay until the app submits the string.
    expect(env.sandbox.transactions("alipay").some((t) => t.outTradeNo === pending.paymentId)).toBe(false);
    const submitted = await submitAlipayAppOrder(env.sandbox.providers.alipay.appPayUrl, orderString!);
    expect(submitted.code).toBe("10000");
    expect(env.pay(pending)).toBe(true);
    const captured = await env.waitForEvent(orderId, "PaymentCaptured");
    expect(captured["providerTransactionId"]).toBe(submitted.tradeNo);
  });

  it("a mini-program order without the buyer's accounts fails at once, each rail saying what it needed", async () => {
    const orderId = await env.acceptOrder({ channel: "mini_program" });
    const failed = await env.waitForEvent(orderId, "PaymentFailed");
    expect(failed["reasonCode"]).toBe("no_eligible_provider");
    expect(String(failed["providerMessage"])).toContain("alipay: buyer_account_missing");
    expect(String(failed["providerMessage"])).toContain("wechat_pay: buyer_account_missing");
    expect(await env.attempts(orderId)).toEqual([]);
  });
});
