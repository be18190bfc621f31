import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { assertNever } from "@tributary/result";
import { fenAsJsonNumber, parseFen } from "../../core/amounts.js";
import type { BillDiscrepancy } from "../../core/bill-discrepancies.js";
import { header, type Route, type SandboxRequest, type SandboxResponse } from "../../core/http-router.js";
import type { SandboxContext } from "../../core/sandbox-context.js";
import { formatShanghai, rfc3339Shanghai, shanghaiDayBounds } from "../../core/shanghai-time.js";
import { pendingPayment, refundedMinor, type PaymentRecord, type RefundRecord } from "../../core/store.js";
import { writeWechatTradeBill, type WechatBillColumns, type WechatBillType } from "./wechat-bill.js";
import {
  encryptWechatResource,
  parseWechatAuthorization,
  wechatRequestMessage,
  wechatResponseMessage,
  wechatSign,
  wechatVerify,
  WECHATPAY_SCHEME,
} from "./wechat-signature.js";

/** WeChat Pay's callback retry schedule: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h. */
export const WECHAT_NOTIFY_SCHEDULE_MS: readonly number[] = [
  0, 15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
].map((s) => s * 1000);

/** Options of the WeChat Pay simulation. */
export interface WechatOptions {
  /** Which trade-bill column set this merchant gets (older merchants have the legacy one). */
  readonly billColumns: WechatBillColumns;
  readonly discrepancies: readonly BillDiscrepancy[];
}

/**
 * WeChat Pay API v3: JSON REST with `WECHATPAY2-SHA256-RSA2048` request signatures (401 when
 * wrong), every response signed with the platform key in `Wechatpay-*` headers, callbacks with
 * the resource encrypted by AEAD_AES_256_GCM under the APIv3 key and retried until 200/204, and
 * the trade bill download with its SHA-1 digest.
 */
export function wechatRoutes(ctx: SandboxContext, options: WechatOptions): Route[] {
  const keys = ctx.keys.wechat;
  const prng = ctx.prng("wechat");
  const faults = ctx.faults("wechat");
  const billTokens = new Map<string, { body: Buffer; expiresAtMs: number }>();

  const signedHeaders = (body: string, signingKeyPem: string): Record<string, string> => {
    const timestamp = String(Math.floor(ctx.clock.nowMs() / 1000));
    const nonce = prng.hex(32).toUpperCase();
    return {
      "Wechatpay-Timestamp": timestamp,
      "Wechatpay-Nonce": nonce,
      "Wechatpay-Signature": wechatSign(wechatResponseMessage(timestamp, nonce, body), signingKeyPem),
      "Wechatpay-Serial": keys.platformSerial,
      "Wechatpay-Signature-Type": WECHATPAY_SCHEME,
    };
  };

  const reply = (status: number, payload: object | undefined): SandboxResponse => {
    const body = payload === undefined ? "" : JSON.stringify(payload);
    return {
      status,
      headers: {
        ...(payload === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
        "Request-ID": prng.hex(32),
        ...signedHeaders(body, keys.platform.privateKeyPem),
      },
      body,
    };
  };
  const error = (status: number, code: string, message: string): SandboxResponse => reply(status, { code, message });

  const authenticate = (request: SandboxRequest): SandboxResponse | undefined => {
    const auth = parseWechatAuthorization(header(request.headers, "authorization"));
    if (auth === undefined) return error(401, "SIGN_ERROR", "Authorization 不合法");
    if (auth.mchid !== keys.mchid) return error(401, "SIGN_ERROR", "商户号不匹配");
    if (auth.serialNo !== keys.merchantSerial) return error(401, "SIGN_ERROR", "商户证书序列号有误");
    const skewSeconds = Math.abs(Math.floor(ctx.clock.nowMs() / 1000) - Number(auth.timestamp));
    if (!/^\d{10}$/.test(auth.timestamp) || skewSeconds > 300) return error(401, "SIGN_ERROR", "请求时间戳与服务器时间差过大");
    const message = wechatRequestMessage(request.method, request.pathAndQuery, auth.timestamp, auth.nonceStr, request.bodyText);
    if (!wechatVerify(message, auth.signature, keys.merchant.publicKeyPem)) return error(401, "SIGN_ERROR", "签名错误");
    return undefined;
  };

  const jsonBody = (request: SandboxRequest): Record<string, unknown> | undefined => {
    try {
      const parsed: unknown = JSON.parse(request.bodyText);
      return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };

  const tradeState = (payment: PaymentRecord): string => {
    if (payment.status === "pending") return "NOTPAY";
    if (payment.status === "closed") return "CLOSED";
    return payment.refunds.length > 0 ? "REFUND" : "SUCCESS";
  };
  const TRADE_STATE_DESC: Record<string, string> = { NOTPAY: "未支付", CLOSED: "已关闭", REFUND: "转入退款", SUCCESS: "支付成功" };

  const transactionView = (payment: PaymentRecord): Record<string, unknown> => {
    const state = tradeState(payment);
    const paid = payment.paidAtMs !== undefined;
    return {
      appid: payment.extra["appid"],
      mchid: keys.mchid,
      out_trade_no: payment.outTradeNo,
      ...(paid ? { transaction_id: payment.providerTradeNo } : {}),
      ...(paid ? { trade_type: payment.tradeType } : {}),
      trade_state: state,
      trade_state_desc: TRADE_STATE_DESC[state] ?? state,
      ...(paid ? { bank_type: payment.bankType } : {}),
      ...(payment.attach === undefined ? {} : { attach: payment.attach }),
      ...(paid && payment.paidAtMs !== undefined ? { success_time: rfc3339Shanghai(payment.paidAtMs) } : {}),
      ...(paid ? { payer: { openid: payment.buyerId } } : {}),
      amount: paid
        ? { total: fenAsJsonNumber(payment.amountMinor), payer_total: fenAsJsonNumber(payment.amountMinor), currency: "CNY", payer_currency: "CNY" }
        : { payer_currency: "CNY" },
    };
  };

  const refundView = (payment: PaymentRecord, refund: RefundRecord): Record<string, unknown> => ({
    refund_id: refund.providerRefundNo,
    out_refund_no: refund.outRefundNo,
    transaction_id: payment.providerTradeNo,
    out_trade_no: payment.outTradeNo,
    channel: "ORIGINAL",
    user_received_account: "支付用户零钱",
    ...(refund.successAtMs === undefined ? {} : { success_time: rfc3339Shanghai(refund.successAtMs) }),
    create_time: rfc3339Shanghai(refund.createdAtMs),
    status: refund.status === "success" ? "SUCCESS" : "PROCESSING",
    funds_account: "AVAILABLE",
    amount: {
      total: fenAsJsonNumber(payment.amountMinor),
      refund: fenAsJsonNumber(refund.amountMinor),
      payer_total: fenAsJsonNumber(payment.amountMinor),
      payer_refund: fenAsJsonNumber(refund.amountMinor),
      settlement_total: fenAsJsonNumber(payment.amountMinor),
      settlement_refund: fenAsJsonNumber(refund.amountMinor),
      discount_refund: 0,
      currency: "CNY",
    },
  });

  const notify = (
    url: string | undefined,
    payment: PaymentRecord,
    event: "TRANSACTION.SUCCESS" | "REFUND.SUCCESS",
    resourcePlain: object,
    extraDelayMs: number,
  ): void => {
    if (url === undefined) return;
    const originalType = event === "TRANSACTION.SUCCESS" ? "transaction" : "refund";
    // The callback is made once: its id (WeChat's "通知的唯一ID"), create_time and encrypted
    // resource stay the same on every retry; each attempt is signed anew (timestamp, nonce).
    const id = `${prng.hex(8)}-${prng.hex(4)}-${prng.hex(4)}-${prng.hex(4)}-${prng.hex(12)}`;
    const body = JSON.stringify({
      id,
      create_time: rfc3339Shanghai(ctx.clock.nowMs()),
      resource_type: "encrypt-resource",
      event_type: event,
      summary: event === "TRANSACTION.SUCCESS" ? "支付成功" : "退款成功",
      resource: encryptWechatResource(keys.apiV3Key, JSON.stringify(resourcePlain), prng.hex(12), originalType, originalType),
    });
    const build = (forged: boolean): { body: string; headers: Record<string, string> } => {
      // A forged callback is signed with a key that is not the platform key.
      const signingKey = forged ? keys.merchant.privateKeyPem : keys.platform.privateKeyPem;
      return { body, headers: { "content-type": "application/json", ...signedHeaders(body, signingKey) } };
    };
    ctx.notifier.dispatch(
      {
        provider: "wechat",
        event,
        outTradeNo: payment.outTradeNo,
        url,
        notificationId: id,
        build: () => build(false),
        buildForged: () => build(true),
        isAck: (status) => status === 200 || status === 204,
        scheduleMs: ctx.timing.notifyScheduleMs.wechat ?? WECHAT_NOTIFY_SCHEDULE_MS,
      },
      faults.notifyPlan(),
      extraDelayMs,
    );
  };

  ctx.engine.register("wechat", {
    onPaid: (payment, extraDelayMs) => notify(payment.notifyUrl, payment, "TRANSACTION.SUCCESS", { ...transactionView(payment) }, extraDelayMs),
    onRefundSucceeded: (payment, refund) =>
      notify(refund.notifyUrl, payment, "REFUND.SUCCESS", {
        mchid: keys.mchid,
        out_trade_no: payment.outTradeNo,
        transaction_id: payment.providerTradeNo,
        out_refund_no: refund.outRefundNo,
        refund_id: refund.providerRefundNo,
        refund_status: "SUCCESS",
        success_time: refund.successAtMs === undefined ? undefined : rfc3339Shanghai(refund.successAtMs),
        user_received_account: "支付用户零钱",
        amount: { total: fenAsJsonNumber(payment.amountMinor), refund: fenAsJsonNumber(refund.amountMinor), payer_total: fenAsJsonNumber(payment.amountMinor), payer_refund: fenAsJsonNumber(refund.amountMinor) },
      }, 0),
  });

  const createTransaction = (tradeType: "NATIVE" | "JSAPI" | "APP") => (request: SandboxRequest): SandboxResponse => {
    const body = jsonBody(request);
    if (body === undefined) return error(400, "PARAM_ERROR", "请求体不是合法的JSON");
    const amount = body["amount"] as Record<string, unknown> | undefined;
    const total = parseFen(typeof amount?.["total"] === "number" ? amount["total"] : undefined);
    const outTradeNo = body["out_trade_no"];
    const description = body["description"];
    const notifyUrl = body["notify_url"];
    if (body["appid"] !== keys.appid || body["mchid"] !== keys.mchid) return error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配");
    if (typeof outTradeNo !== "string" || !/^[A-Za-z0-9_\-|*]{6,32}$/.test(outTradeNo)) return error(400, "PARAM_ERROR", "输入源“/body/out_trade_no”映射到字段“商户订单号”的值不合法");
    if (typeof description !== "string" || description === "" || description.length > 127) return error(400, "PARAM_ERROR", "输入源“/body/description”映射到字段“商品描述”的值不合法");
    if (typeof notifyUrl !== "string" || !/^https?:\/\//.test(notifyUrl)) return error(400, "PARAM_ERROR", "输入源“/body/notify_url”映射到字段“通知地址”的值不合法");
    if (total === undefined) return error(400, "PARAM_ERROR", "输入源“/body/amount/total”映射到字段“总金额”的值不合法");
    if (amount?.["currency"] !== undefined && amount["currency"] !== "CNY") return error(400, "PARAM_ERROR", "币种不合法");
    const payer = body["payer"] as Record<string, unknown> | undefined;
    if (tradeType === "JSAPI" && typeof payer?.["openid"] !== "string") return error(400, "PARAM_ERROR", "JSAPI下单必须传openid");
    const existing = ctx.store.byOutTrade("wechat", outTradeNo);
    if (existing !== undefined) {
      if (existing.status === "paid") return error(400, "ORDERPAID", "该订单已支付");
      if (existing.status === "closed") return error(400, "ORDER_CLOSED", "订单已关闭");
      if (existing.amountMinor !== total || existing.tradeType !== tradeType || existing.subject !== description) {
        return error(403, "OUT_TRADE_NO_USED", "商户订单号重复");
      }
      return reply(200, prepayView(existing));
    }
    const now = ctx.clock.nowMs();
    const timeExpire = typeof body["time_expire"] === "string" ? Date.parse(body["time_expire"]) : Number.NaN;
    const payment = pendingPayment({
      provider: "wechat",
      outTradeNo,
      providerTradeNo: `42000${prng.digits(5)}${formatShanghai(now, "yyyyMMdd")}${prng.digits(10)}`,
      amountMinor: total,
      currency: "CNY",
      subject: description,
      tradeType,
      notifyUrl,
      attach: typeof body["attach"] === "string" ? body["attach"] : undefined,
      createdAtMs: now,
      expiresAtMs: Number.isNaN(timeExpire) ? now + ctx.timing.orderTtlMs : timeExpire,
      extra: {
        appid: keys.appid,
        code_url: `weixin://wxpay/bizpayurl?pr=${prng.hex(7)}`,
        prepay_id: `wx${formatShanghai(now, "ddHHmmss")}${prng.hex(26)}`,
      },
    });
    // JSAPI orders name their payer up front.
    payment.buyerId = typeof payer?.["openid"] === "string" ? payer["openid"] : undefined;
    ctx.engine.created(payment, { buyerActs: true });
    return reply(200, prepayView(payment));
  };

  const prepayView = (payment: PaymentRecord): object =>
    payment.tradeType === "NATIVE" ? { code_url: payment.extra["code_url"] } : { prepay_id: payment.extra["prepay_id"] };

  const query = (by: "out" | "id") => (request: SandboxRequest, params: readonly string[]): SandboxResponse => {
    if (request.query.get("mchid") !== keys.mchid) return error(400, "PARAM_ERROR", "输入源“/query/mchid”映射到字段“直连商户号”的值不合法");
    const key = params[0] ?? "";
    const payment = by === "out" ? ctx.store.byOutTrade("wechat", key) : ctx.store.byProviderTrade("wechat", key);
    if (payment === undefined || (by === "id" && payment.paidAtMs === undefined)) return error(404, "ORDER_NOT_EXIST", "订单不存在");
    return reply(200, transactionView(payment));
  };

  const close = (request: SandboxRequest, params: readonly string[]): SandboxResponse => {
    const body = jsonBody(request);
    if (body?.["mchid"] !== keys.mchid) return error(400, "PARAM_ERROR", "输入源“/body/mchid”映射到字段“直连商户号”的值不合法");
    const payment = ctx.store.byOutTrade("wechat", params[0] ?? "");
    if (payment === undefined) return error(404, "ORDER_NOT_EXIST", "订单不存在");
    if (payment.status === "paid") return error(400, "ORDERPAID", "订单已支付");
    if (payment.status === "pending") {
      const late = faults.lateAfterClose();
      if (late !== undefined && ctx.engine.pay(payment, late.delayMs)) return error(400, "ORDERPAID", "订单已支付");
      ctx.engine.close(payment);
    }
    return reply(204, undefined);
  };

  const refund = (request: SandboxRequest): SandboxResponse => {
    const body = jsonBody(request);
    if (body === undefined) return error(400, "PARAM_ERROR", "请求体不是合法的JSON");
    const outRefundNo = body["out_refund_no"];
    const amount = body["amount"] as Record<string, unknown> | undefined;
    const refundFen = parseFen(typeof amount?.["refund"] === "number" ? amount["refund"] : undefined);
    const totalFen = parseFen(typeof amount?.["total"] === "number" ? amount["total"] : undefined);
    if (typeof outRefundNo !== "string" || !/^[A-Za-z0-9_\-|*@]{1,64}$/.test(outRefundNo)) return error(400, "PARAM_ERROR", "输入源“/body/out_refund_no”映射到字段“商户退款单号”的值不合法");
    if (refundFen === undefined || totalFen === undefined) return error(400, "PARAM_ERROR", "输入源“/body/amount”映射到字段“金额信息”的值不合法");
    const payment =
      typeof body["transaction_id"] === "string"
        ? ctx.store.byProviderTrade("wechat", body["transaction_id"])
        : typeof body["out_trade_no"] === "string"
          ? ctx.store.byOutTrade("wechat", body["out_trade_no"])
          : undefined;
    if (payment === undefined) return error(404, "RESOURCE_NOT_EXISTS", "订单不存在");
    const previous = payment.refunds.find((r) => r.outRefundNo === outRefundNo);
    if (previous !== undefined) {
      if (previous.amountMinor !== refundFen) return error(400, "INVALID_REQUEST", "订单金额或退款金额与之前请求不一致");
      return reply(200, refundView(payment, previous));
    }
    if (payment.status !== "paid") return error(400, "INVALID_REQUEST", "订单未支付");
    if (totalFen !== payment.amountMinor) return error(400, "INVALID_REQUEST", "订单金额与原订单金额不一致");
    const result = ctx.engine.refund(
      payment,
      {
        outRefundNo,
        providerRefundNo: `50${prng.digits(4)}${formatShanghai(ctx.clock.nowMs(), "yyyyMMdd")}${prng.digits(15)}`,
        amountMinor: refundFen,
        reason: typeof body["reason"] === "string" ? body["reason"] : undefined,
        notifyUrl: typeof body["notify_url"] === "string" ? body["notify_url"] : undefined,
      },
      { immediate: false },
    );
    if (!result.ok) {
      switch (result.error.code) {
        case "exceeds_refundable":
          return error(400, "INVALID_REQUEST", `申请退款金额超过订单可退金额(${refundedMinor(payment)}已退)`);
        case "invalid_amount":
          return error(400, "PARAM_ERROR", "输入源“/body/amount/refund”映射到字段“退款金额”的值不合法");
        case "not_paid":
          return error(400, "INVALID_REQUEST", "订单状态不允许退款");
        default:
          return assertNever(result.error, "refund refusal");
      }
    }
    return reply(200, refundView(payment, result.value));
  };

  const queryRefund = (_request: SandboxRequest, params: readonly string[]): SandboxResponse => {
    const found = ctx.store.refundByOutRefundNo("wechat", params[0] ?? "");
    if (found === undefined) return error(404, "RESOURCE_NOT_EXISTS", "退款单不存在");
    return reply(200, refundView(found.payment, found.refund));
  };

  const tradeBill = async (request: SandboxRequest): Promise<SandboxResponse> => {
    const day = request.query.get("bill_date") ?? "";
    const billType = (request.query.get("bill_type") ?? "ALL") as WechatBillType;
    const tarType = request.query.get("tar_type");
    const bounds = shanghaiDayBounds(day);
    if (bounds === undefined) return error(400, "PARAM_ERROR", "输入源“/query/bill_date”映射到字段“账单日期”的值不合法");
    if (!["ALL", "SUCCESS", "REFUND"].includes(billType)) return error(400, "PARAM_ERROR", "输入源“/query/bill_type”映射到字段“账单类型”的值不合法");
    if (tarType !== null && tarType !== "GZIP") return error(400, "PARAM_ERROR", "输入源“/query/tar_type”映射到字段“压缩类型”的值不合法");
    if (ctx.clock.nowMs() < bounds.endMs + ctx.timing.billReadyAfterMs) return error(400, "NO_STATEMENT_EXIST", "账单文件不存在");
    const text = writeWechatTradeBill({
      day,
      billType,
      columns: options.billColumns,
      payments: ctx.store.list("wechat"),
      mchid: keys.mchid,
      appid: keys.appid,
      feeSchedule: ctx.feeSchedules.wechat,
      discrepancies: options.discrepancies,
    });
    const raw = Buffer.from(text, "utf8");
    const token = prng.hex(40);
    billTokens.set(token, { body: tarType === "GZIP" ? gzipSync(raw) : raw, expiresAtMs: ctx.clock.nowMs() + 30_000 });
    return reply(200, {
      hash_type: "SHA1",
      hash_value: createHash("sha1").update(raw).digest("hex"),
      download_url: `${ctx.baseUrl()}/v3/billdownload/file?token=${token}`,
    });
  };

  const downloadBill = (request: SandboxRequest): SandboxResponse => {
    const entry = billTokens.get(request.query.get("token") ?? "");
    if (entry === undefined || ctx.clock.nowMs() > entry.expiresAtMs) return error(400, "INVALID_REQUEST", "下载链接已失效");
    // The file download answer is not signed by WeChat; the merchant checks the SHA-1 instead.
    return { status: 200, headers: { "content-type": "application/octet-stream" }, body: entry.body };
  };

  const guarded = (
    handler: (request: SandboxRequest, params: readonly string[]) => SandboxResponse | Promise<SandboxResponse>,
  ) => (request: SandboxRequest, params: readonly string[]): SandboxResponse | Promise<SandboxResponse> =>
    authenticate(request) ?? handler(request, params);
  const apiFaults = { injector: faults, serverError: () => error(500, "SYSTEM_ERROR", "系统错误") };

  return [
    { method: "POST", pattern: /^\/v3\/pay\/transactions\/native$/, handler: guarded(createTransaction("NATIVE")), faults: apiFaults },
    { method: "POST", pattern: /^\/v3\/pay\/transactions\/jsapi$/, handler: guarded(createTransaction("JSAPI")), faults: apiFaults },
    { method: "POST", pattern: /^\/v3\/pay\/transactions\/app$/, handler: guarded(createTransaction("APP")), faults: apiFaults },
    { method: "GET", pattern: /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/, handler: guarded(query("out")), faults: apiFaults },
    { method: "GET", pattern: /^\/v3\/pay\/transactions\/id\/([^/]+)$/, handler: guarded(query("id")), faults: apiFaults },
    { method: "POST", pattern: /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/, handler: guarded(close), faults: apiFaults },
    { method: "POST", pattern: /^\/v3\/refund\/domestic\/refunds$/, handler: guarded(refund), faults: apiFaults },
    { method: "GET", pattern: /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/, handler: guarded(queryRefund), faults: apiFaults },
    { method: "GET", pattern: /^\/v3\/bill\/tradebill$/, handler: guarded(tradeBill) },
    { method: "GET", pattern: /^\/v3\/billdownload\/file$/, handler: guarded(downloadBill) },
  ];
}
