import { createHash } from "node:crypto";
import { assertNever } from "@tributary/result";
import { encodeForm, parseForm } from "../../core/form.js";
import { parseYuan, yuan } from "../../core/amounts.js";
import type { Route, SandboxRequest, SandboxResponse } from "../../core/http-router.js";
import type { SandboxContext } from "../../core/sandbox-context.js";
import { formatShanghai, parseShanghaiDateTime, shanghaiDayBounds } from "../../core/shanghai-time.js";
import { pendingPayment, refundedMinor, type PaymentRecord, type RefundRecord } from "../../core/store.js";
import { alipaySigningString, rsa2Sign, rsa2Verify, signedAlipayResponse } from "./alipay-signature.js";
import { writeAlipayTradeBill } from "./alipay-bill.js";
import type { BillDiscrepancy } from "../../core/bill-discrepancies.js";

/** Alipay's retry schedule for `trade_status_sync`: 8 attempts within about 25 h. */
export const ALIPAY_NOTIFY_SCHEDULE_MS: readonly number[] = [0, 4, 10, 10, 60, 120, 360, 900].map((m) => m * 60_000);

const JSON_HEADERS = { "content-type": "application/json;charset=utf-8" };

interface GatewayError {
  readonly code: "40001" | "40002" | "40004" | "20000";
  readonly subCode: string;
  readonly subMsg: string;
}

const MSG: Record<GatewayError["code"], string> = {
  "40001": "Missing Required Arguments",
  "40002": "Invalid Arguments",
  "40004": "Business Failed",
  "20000": "Service Currently Unavailable",
};

const business = (subCode: string, subMsg: string): GatewayError => ({ code: "40004", subCode, subMsg });

/** Options of the Alipay simulation. */
export interface AlipayOptions {
  readonly discrepancies: readonly BillDiscrepancy[];
}

/**
 * The Alipay open-platform gateway (`/gateway.do`): form POST with RSA2-signed common params and
 * a JSON `biz_content`; responses signed over the raw `<method>_response` JSON; async
 * `trade_status_sync` notifications form-POSTed, signed, and retried until the merchant answers
 * `success`; trade bills downloaded as a zip of GBK CSVs.
 */
export function alipayRoutes(ctx: SandboxContext, options: AlipayOptions): Route[] {
  const keys = ctx.keys.alipay;
  const prng = ctx.prng("alipay");
  const faults = ctx.faults("alipay");
  const billTokens = new Map<string, { day: string; expiresAtMs: number }>();

  const respond = (method: string, payload: object): SandboxResponse => ({
    status: 200,
    headers: JSON_HEADERS,
    body: signedAlipayResponse(method, payload, keys.alipay.privateKeyPem),
  });
  const fail = (method: string, error: GatewayError): SandboxResponse =>
    respond(method, { code: error.code, msg: MSG[error.code], sub_code: error.subCode, sub_msg: error.subMsg });
  const success = (method: string, payload: object): SandboxResponse => respond(method, { code: "10000", msg: "Success", ...payload });

  const tradeNo = (): string => `${formatShanghai(ctx.clock.nowMs(), "yyyyMMdd")}22001${prng.digits(15)}`;

  const findTrade = (biz: Record<string, unknown>): PaymentRecord | undefined => {
    const outTradeNo = typeof biz["out_trade_no"] === "string" ? biz["out_trade_no"] : undefined;
    const tradeNoText = typeof biz["trade_no"] === "string" ? biz["trade_no"] : undefined;
    if (tradeNoText !== undefined) return ctx.store.byProviderTrade("alipay", tradeNoText);
    if (outTradeNo !== undefined) return ctx.store.byOutTrade("alipay", outTradeNo);
    return undefined;
  };

  const tradeStatus = (payment: PaymentRecord): string => {
    if (payment.status === "closed") return "TRADE_CLOSED";
    if (payment.status === "pending") return "WAIT_BUYER_PAY";
    return refundedMinor(payment) === payment.amountMinor ? "TRADE_CLOSED" : "TRADE_SUCCESS";
  };

  const notifyFields = (payment: PaymentRecord, refund: RefundRecord | undefined): Record<string, string> => {
    const now = ctx.clock.nowMs();
    const refunded = refundedMinor(payment);
    const fields: Record<string, string> = {
      notify_time: formatShanghai(now, "yyyy-MM-dd HH:mm:ss"),
      notify_type: "trade_status_sync",
      // The same notification keeps its notify_id across retries, so merchants can de-duplicate.
      notify_id: createHash("md5").update(`${payment.providerTradeNo}:${refund?.outRefundNo ?? ""}`).digest("hex").slice(0, 34),
      app_id: keys.appId,
      charset: "utf-8",
      version: "1.0",
      sign_type: "RSA2",
      trade_no: payment.providerTradeNo,
      out_trade_no: payment.outTradeNo,
      buyer_id: payment.buyerId ?? "",
      seller_id: keys.pid,
      trade_status: refund === undefined ? "TRADE_SUCCESS" : tradeStatus(payment),
      total_amount: yuan(payment.amountMinor),
      receipt_amount: yuan(payment.amountMinor),
      invoice_amount: yuan(payment.amountMinor),
      buyer_pay_amount: yuan(payment.amountMinor),
      point_amount: "0.00",
      subject: payment.subject,
      gmt_create: formatShanghai(payment.createdAtMs, "yyyy-MM-dd HH:mm:ss"),
      gmt_payment: payment.paidAtMs === undefined ? "" : formatShanghai(payment.paidAtMs, "yyyy-MM-dd HH:mm:ss"),
      fund_bill_list: JSON.stringify([{ amount: yuan(payment.amountMinor), fundChannel: "ALIPAYACCOUNT" }]),
    };
    if (refund !== undefined) {
      fields["out_biz_no"] = refund.outRefundNo;
      fields["refund_fee"] = yuan(refunded);
      fields["gmt_refund"] = formatShanghai(refund.successAtMs ?? now, "yyyy-MM-dd HH:mm:ss.SSS");
      if (tradeStatus(payment) === "TRADE_CLOSED") {
        fields["gmt_close"] = formatShanghai(refund.successAtMs ?? now, "yyyy-MM-dd HH:mm:ss");
      }
    }
    if (payment.attach !== undefined) fields["passback_params"] = payment.attach;
    for (const key of Object.keys(fields)) if (fields[key] === "") delete fields[key];
    return fields;
  };

  const notify = (payment: PaymentRecord, refund: RefundRecord | undefined, extraDelayMs: number): void => {
    if (payment.notifyUrl === undefined) return;
    // The notification's content is fixed when it is made (a later refund does not change a
    // retry of this one); each attempt gets its own notify_time and is signed anew.
    const snapshot = notifyFields(payment, refund);
    const build = (forged: boolean): { body: string; headers: Record<string, string> } => {
      const fields = { ...snapshot, notify_time: formatShanghai(ctx.clock.nowMs(), "yyyy-MM-dd HH:mm:ss") };
      // Alipay signs without sign and sign_type; the merchant verifies the same way.
      let sign = rsa2Sign(alipaySigningString(fields, ["sign", "sign_type"]), keys.alipay.privateKeyPem);
      if (forged) sign = rsa2Sign(alipaySigningString(fields, ["sign", "sign_type"]), keys.app.privateKeyPem);
      return {
        body: encodeForm({ ...fields, sign }),
        headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
      };
    };
    ctx.notifier.dispatch(
      {
        provider: "alipay",
        event: refund === undefined ? "TRADE_SUCCESS" : `REFUND:${refund.outRefundNo}`,
        outTradeNo: payment.outTradeNo,
        url: payment.notifyUrl,
        notificationId: snapshot["notify_id"] ?? "",
        build: () => build(false),
        buildForged: () => build(true),
        isAck: (_status, body) => body.trim() === "success",
        scheduleMs: ctx.timing.notifyScheduleMs.alipay ?? ALIPAY_NOTIFY_SCHEDULE_MS,
      },
      faults.notifyPlan(),
      extraDelayMs,
    );
  };

  ctx.engine.register("alipay", {
    onPaid: (payment, extraDelayMs) => notify(payment, undefined, extraDelayMs),
    onRefundSucceeded: (payment, refund) => notify(payment, refund, 0),
  });

  const createTrade = (
    biz: Record<string, unknown>,
    common: Record<string, string>,
    tradeType: "QR" | "BARCODE" | "JSAPI" | "APP",
  ): { payment: PaymentRecord; existing: boolean } | GatewayError => {
    const outTradeNo = biz["out_trade_no"];
    const subject = biz["subject"];
    const amountText = biz["total_amount"];
    if (typeof outTradeNo !== "string" || !/^[A-Za-z0-9_\-]{1,64}$/.test(outTradeNo)) {
      return business("ACQ.INVALID_PARAMETER", "参数无效: out_trade_no");
    }
    if (typeof subject !== "string" || subject === "") return business("ACQ.INVALID_PARAMETER", "参数无效: subject");
    const amountMinor = typeof amountText === "string" ? parseYuan(amountText) : undefined;
    if (amountMinor === undefined || amountMinor > 10_000_000_000n) {
      return business("ACQ.INVALID_PARAMETER", "参数无效: total_amount");
    }
    const existing = ctx.store.byOutTrade("alipay", outTradeNo);
    if (existing !== undefined) {
      if (existing.status === "paid") return business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付");
      if (existing.status === "closed") return business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭");
      if (existing.amountMinor !== amountMinor || existing.subject !== subject) {
        return business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改");
      }
      return { payment: existing, existing: true };
    }
    const now = ctx.clock.nowMs();
    const ttlMs = parseTimeoutExpress(biz["timeout_express"]) ?? ctx.timing.orderTtlMs;
    const payment = pendingPayment({
      provider: "alipay",
      outTradeNo,
      providerTradeNo: tradeNo(),
      amountMinor,
      currency: "CNY",
      subject,
      tradeType,
      notifyUrl: common["notify_url"] === "" ? undefined : common["notify_url"],
      attach: typeof biz["passback_params"] === "string" ? biz["passback_params"] : undefined,
      createdAtMs: now,
      expiresAtMs: now + ttlMs,
      extra: { qr_code: `https://qr.alipay.com/bax0${prng.hex(20)}` },
    });
    return { payment, existing: false };
  };

  const tradeView = (payment: PaymentRecord): Record<string, string> => ({
    trade_no: payment.providerTradeNo,
    out_trade_no: payment.outTradeNo,
  });

  const paidView = (payment: PaymentRecord): Record<string, unknown> => ({
    ...tradeView(payment),
    buyer_logon_id: "sandbox***@alipay.com",
    buyer_user_id: payment.buyerId,
    total_amount: yuan(payment.amountMinor),
    receipt_amount: yuan(payment.amountMinor),
    buyer_pay_amount: yuan(payment.amountMinor),
    invoice_amount: yuan(payment.amountMinor),
    gmt_payment: payment.paidAtMs === undefined ? undefined : formatShanghai(payment.paidAtMs, "yyyy-MM-dd HH:mm:ss"),
    fund_bill_list: [{ fund_channel: "ALIPAYACCOUNT", amount: yuan(payment.amountMinor) }],
  });

  const methods: Record<string, (biz: Record<string, unknown>, common: Record<string, string>) => SandboxResponse> = {
    "alipay.trade.precreate": (biz, common) => {
      const method = "alipay.trade.precreate";
      const created = createTrade(biz, common, "QR");
      if ("code" in created) return fail(method, created);
      if (!created.existing) ctx.engine.created(created.payment, { buyerActs: true });
      return success(method, { out_trade_no: created.payment.outTradeNo, qr_code: created.payment.extra["qr_code"] });
    },
    // The mini-program payment: created for a named buyer, who pays it with my.tradePay(trade_no).
    "alipay.trade.create": (biz, common) => {
      const method = "alipay.trade.create";
      const buyerId = typeof biz["buyer_id"] === "string" && biz["buyer_id"] !== "" ? biz["buyer_id"] : undefined;
      const openId = typeof biz["buyer_open_id"] === "string" && biz["buyer_open_id"] !== "" ? biz["buyer_open_id"] : undefined;
      if (buyerId === undefined && openId === undefined) return fail(method, business("ACQ.INVALID_PARAMETER", "参数无效: buyer_id 和 buyer_open_id 不能同时为空"));
      if (buyerId !== undefined && !/^2088\d{12}$/.test(buyerId)) return fail(method, business("ACQ.INVALID_PARAMETER", "参数无效: buyer_id"));
      const created = createTrade(biz, common, "JSAPI");
      if ("code" in created) return fail(method, created);
      if (!created.existing) {
        created.payment.buyerId = buyerId ?? openId;
        ctx.engine.created(created.payment, { buyerActs: true });
      }
      return success(method, { out_trade_no: created.payment.outTradeNo, trade_no: created.payment.providerTradeNo });
    },
    "alipay.trade.pay": (biz, common) => {
      const method = "alipay.trade.pay";
      const authCode = biz["auth_code"];
      if (biz["scene"] !== "bar_code" && biz["scene"] !== "security_code") {
        return fail(method, business("ACQ.INVALID_PARAMETER", "参数无效: scene"));
      }
      if (typeof authCode !== "string" || !/^(2[5-9]|30)\d{14,22}$/.test(authCode)) {
        return fail(method, business("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款"));
      }
      const created = createTrade(biz, common, "BARCODE");
      if ("code" in created) return fail(method, created);
      if (!created.existing) ctx.engine.created(created.payment, { buyerActs: false });
      if (faults.decline()) {
        return fail(method, business("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足"));
      }
      ctx.engine.pay(created.payment);
      return success(method, paidView(created.payment));
    },
    "alipay.trade.query": (biz) => {
      const method = "alipay.trade.query";
      const payment = findTrade(biz);
      // A QR trade exists at Alipay only once the buyer scans; before that, query says not exist.
      if (payment === undefined || (payment.status !== "paid" && payment.tradeType === "QR")) {
        return fail(method, business("ACQ.TRADE_NOT_EXIST", "交易不存在"));
      }
      return success(method, {
        ...(payment.status === "paid" ? paidView(payment) : tradeView(payment)),
        trade_status: tradeStatus(payment),
        total_amount: yuan(payment.amountMinor),
        send_pay_date: payment.paidAtMs === undefined ? undefined : formatShanghai(payment.paidAtMs, "yyyy-MM-dd HH:mm:ss"),
      });
    },
    "alipay.trade.close": (biz) => {
      const method = "alipay.trade.close";
      const payment = findTrade(biz);
      if (payment === undefined) return fail(method, business("ACQ.TRADE_NOT_EXIST", "交易不存在"));
      if (payment.status === "pending") {
        const late = faults.lateAfterClose();
        if (late !== undefined && ctx.engine.pay(payment, late.delayMs)) {
          return fail(method, business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"));
        }
        ctx.engine.close(payment);
        // An unscanned QR order does not exist at Alipay yet; closing it still stops the buyer.
        if (payment.tradeType === "QR") return fail(method, business("ACQ.TRADE_NOT_EXIST", "交易不存在"));
        return success(method, tradeView(payment));
      }
      return fail(method, business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"));
    },
    "alipay.trade.refund": (biz) => {
      const method = "alipay.trade.refund";
      const payment = findTrade(biz);
      if (payment === undefined) return fail(method, business("ACQ.TRADE_NOT_EXIST", "交易不存在"));
      const amountMinor = typeof biz["refund_amount"] === "string" ? parseYuan(biz["refund_amount"]) : undefined;
      if (amountMinor === undefined) return fail(method, business("ACQ.INVALID_PARAMETER", "参数无效: refund_amount"));
      const outRequestNo = typeof biz["out_request_no"] === "string" ? biz["out_request_no"] : payment.outTradeNo;
      const previous = payment.refunds.find((r) => r.outRefundNo === outRequestNo);
      const view = (fundChange: "Y" | "N", refund: RefundRecord): SandboxResponse =>
        success(method, {
          ...tradeView(payment),
          buyer_logon_id: "sandbox***@alipay.com",
          buyer_user_id: payment.buyerId,
          fund_change: fundChange,
          refund_fee: yuan(refundedMinor(payment)),
          gmt_refund_pay: formatShanghai(refund.successAtMs ?? refund.createdAtMs, "yyyy-MM-dd HH:mm:ss"),
        });
      if (previous !== undefined) {
        if (previous.amountMinor !== amountMinor) return fail(method, business("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额无效"));
        return view("N", previous);
      }
      if (payment.status !== "paid") return fail(method, business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"));
      const result = ctx.engine.refund(
        payment,
        {
          outRefundNo: outRequestNo,
          providerRefundNo: outRequestNo,
          amountMinor,
          reason: typeof biz["refund_reason"] === "string" ? biz["refund_reason"] : undefined,
          notifyUrl: payment.notifyUrl,
        },
        { immediate: true },
      );
      if (!result.ok) {
        switch (result.error.code) {
          case "exceeds_refundable":
            return fail(method, business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"));
          case "invalid_amount":
            return fail(method, business("ACQ.INVALID_PARAMETER", "参数无效: refund_amount"));
          case "not_paid":
            return fail(method, business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"));
          default:
            return assertNever(result.error, "refund refusal");
        }
      }
      return view("Y", result.value);
    },
    "alipay.trade.fastpay.refund.query": (biz) => {
      const method = "alipay.trade.fastpay.refund.query";
      const payment = findTrade(biz);
      const outRequestNo = typeof biz["out_request_no"] === "string" ? biz["out_request_no"] : undefined;
      if (outRequestNo === undefined) return fail(method, business("ACQ.INVALID_PARAMETER", "参数无效: out_request_no"));
      if (payment === undefined) return fail(method, business("ACQ.TRADE_NOT_EXIST", "交易不存在"));
      const refund = payment.refunds.find((r) => r.outRefundNo === outRequestNo);
      // Alipay answers 10000 without refund fields when the refund does not exist.
      if (refund === undefined) return success(method, { ...tradeView(payment), out_request_no: outRequestNo });
      return success(method, {
        ...tradeView(payment),
        out_request_no: outRequestNo,
        total_amount: yuan(payment.amountMinor),
        refund_amount: yuan(refund.amountMinor),
        refund_status: refund.status === "success" ? "REFUND_SUCCESS" : undefined,
        gmt_refund_pay: refund.successAtMs === undefined ? undefined : formatShanghai(refund.successAtMs, "yyyy-MM-dd HH:mm:ss"),
      });
    },
    "alipay.data.dataservice.bill.downloadurl.query": (biz) => {
      const method = "alipay.data.dataservice.bill.downloadurl.query";
      if (biz["bill_type"] !== "trade") return fail(method, business("isp.bill_type_not_supported", "sandbox: only bill_type=trade"));
      const day = typeof biz["bill_date"] === "string" ? biz["bill_date"] : "";
      const bounds = shanghaiDayBounds(day);
      if (bounds === undefined) return fail(method, business("isv.invalid-parameter", "参数无效: bill_date"));
      if (ctx.clock.nowMs() < bounds.endMs + ctx.timing.billReadyAfterMs) return fail(method, business("isp.bill_not_exist", "账单不存在"));
      const token = prng.hex(32);
      billTokens.set(token, { day, expiresAtMs: ctx.clock.nowMs() + 30_000 });
      return success(method, { bill_download_url: `${ctx.baseUrl()}/alipay/bill/download?token=${token}` });
    },
  };

  const gateway = (request: SandboxRequest): SandboxResponse => {
    const contentType = request.headers["content-type"] ?? "";
    const params: Record<string, string> = {};
    for (const [k, v] of request.query) params[k] = v;
    if (contentType.includes("application/x-www-form-urlencoded")) Object.assign(params, parseForm(request.bodyText));
    const method = params["method"];
    if (method === undefined || method === "") {
      return fail("error", { code: "40001", subCode: "isv.missing-method", subMsg: "缺少方法名参数" });
    }
    if (!(method in methods)) return fail(method, { code: "40002", subCode: "isv.invalid-method", subMsg: "不存在的方法名" });
    const checked = checkSigned(method, params);
    if ("code" in checked) return fail(method, checked);
    const handler = methods[method];
    return handler === undefined
      ? fail(method, { code: "40002", subCode: "isv.invalid-method", subMsg: "不存在的方法名" })
      : handler(checked.biz, params);
  };

  /**
   * What the buyer's Alipay app does with the order string the merchant's server signed
   * (`alipay.trade.app.pay`, Alipay's app SDK `payV2`): submits it to Alipay, which verifies it
   * exactly like a gateway request and only then creates the trade; the buyer then pays or walks
   * away, as a scanning buyer does. The body is the order string itself. Answers the signed
   * `alipay_trade_app_pay_response` the SDK hands back to the app.
   */
  const appPay = (request: SandboxRequest): SandboxResponse => {
    const method = "alipay.trade.app.pay";
    const params = parseForm(request.bodyText);
    if (params["method"] !== method) return fail(method, { code: "40002", subCode: "isv.invalid-method", subMsg: "不存在的方法名" });
    const checked = checkSigned(method, params);
    if ("code" in checked) return fail(method, checked);
    if (checked.biz["product_code"] !== "QUICK_MSECURITY_PAY") return fail(method, business("ACQ.INVALID_PARAMETER", "参数无效: product_code"));
    const created = createTrade(checked.biz, params, "APP");
    if ("code" in created) return fail(method, created);
    if (!created.existing) ctx.engine.created(created.payment, { buyerActs: true });
    return success(method, {
      out_trade_no: created.payment.outTradeNo,
      trade_no: created.payment.providerTradeNo,
      total_amount: yuan(created.payment.amountMinor),
      seller_id: keys.pid,
      charset: "utf-8",
      timestamp: formatShanghai(ctx.clock.nowMs(), "yyyy-MM-dd HH:mm:ss"),
    });
  };

  /** The common parameters' checks and the RSA2 signature, then the parsed `biz_content`. */
  const checkSigned = (method: string, params: Record<string, string>): { biz: Record<string, unknown> } | GatewayError => {
    if (params["app_id"] === undefined) return { code: "40001", subCode: "isv.missing-app-id", subMsg: "缺少AppID参数" };
    if (params["app_id"] !== keys.appId) return { code: "40002", subCode: "isv.invalid-app-id", subMsg: "无效的AppID参数" };
    if (params["sign"] === undefined) return { code: "40001", subCode: "isv.missing-signature", subMsg: "缺少签名参数" };
    if (params["sign_type"] !== "RSA2") {
      return { code: "40002", subCode: "isv.invalid-signature-type", subMsg: "无效的签名类型" };
    }
    const timestamp = params["timestamp"];
    if (timestamp === undefined || parseShanghaiDateTime(timestamp) === undefined) {
      return { code: "40002", subCode: "isv.invalid-timestamp", subMsg: "非法的时间戳参数" };
    }
    if (!rsa2Verify(alipaySigningString(params), params["sign"], keys.app.publicKeyPem)) {
      return { code: "40002", subCode: "isv.invalid-signature", subMsg: "验签出错" };
    }
    let biz: unknown;
    try {
      biz = JSON.parse(params["biz_content"] ?? "{}");
    } catch {
      biz = undefined;
    }
    if (typeof biz !== "object" || biz === null || Array.isArray(biz)) {
      return { code: "40002", subCode: "isv.invalid-parameter", subMsg: "参数无效: biz_content" };
    }
    return { biz: biz as Record<string, unknown> };
  };

  const download = async (request: SandboxRequest): Promise<SandboxResponse> => {
    const token = billTokens.get(request.query.get("token") ?? "");
    if (token === undefined || ctx.clock.nowMs() > token.expiresAtMs) {
      return { status: 404, headers: { "content-type": "text/plain" }, body: "bill url expired" };
    }
    const bill = await writeAlipayTradeBill({
      day: token.day,
      payments: ctx.store.list("alipay"),
      account: `${keys.pid}0156`,
      exportedAtMs: ctx.clock.nowMs(),
      feeSchedule: ctx.feeSchedules.alipay,
      discrepancies: options.discrepancies,
    });
    return {
      status: 200,
      headers: { "content-type": "application/zip", "content-disposition": `attachment; filename="${encodeURIComponent(bill.fileName)}"` },
      body: bill.zip,
    };
  };

  return [
    {
      method: "POST",
      pattern: /^\/alipay\/gateway\.do$/,
      handler: gateway,
      faults: {
        injector: faults,
        serverError: () => ({ status: 502, headers: { "content-type": "text/html" }, body: "<html><body><h1>502 Bad Gateway</h1></body></html>" }),
      },
    },
    { method: "GET", pattern: /^\/alipay\/bill\/download$/, handler: download },
    // Not a merchant API: the buyer's Alipay app submitting an app payment's order string.
    { method: "POST", pattern: /^\/alipay\/app\/pay$/, handler: appPay },
  ];
}

function parseTimeoutExpress(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^(\d+)([mhd])$/.exec(value);
  if (match === null) return undefined;
  const unit = match[2] === "m" ? 60_000 : match[2] === "h" ? 3_600_000 : 86_400_000;
  return Number(match[1]) * unit;
}
