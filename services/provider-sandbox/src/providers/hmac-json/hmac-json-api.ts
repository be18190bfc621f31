import { assertNever } from "@tributary/result";
import { parseFen } from "../../core/amounts.js";
import type { BillDiscrepancy } from "../../core/bill-discrepancies.js";
import { header, type Route, type SandboxRequest, type SandboxResponse } from "../../core/http-router.js";
import type { SandboxContext } from "../../core/sandbox-context.js";
import { formatShanghai, shanghaiDayBounds } from "../../core/shanghai-time.js";
import { pendingPayment, refundedMinor, type PaymentRecord, type SandboxProviderName, type RefundRecord } from "../../core/store.js";
import { writeGenericBill } from "./generic-bill.js";
import { hmacRequestMessage, hmacResponseMessage, hmacSign, hmacVerify } from "./hmac-signature.js";

/** Retry schedule of our own notifications: 0s, 10s, 30s, 1m, 5m, 15m, 1h, 6h. */
export const HMAC_NOTIFY_SCHEDULE_MS: readonly number[] = [0, 10, 30, 60, 300, 900, 3600, 21600].map((s) => s * 1000);

/** Options of a JD Pay / e-CNY simulation. */
export interface HmacJsonOptions {
  readonly discrepancies: readonly BillDiscrepancy[];
}

const iso = (ms: number): string => `${formatShanghai(ms, "yyyy-MM-ddTHH:mm:ss.SSS")}+08:00`;

/**
 * Our own JSON API for JD Pay and e-CNY (no public spec is available to mirror): HMAC-SHA256
 * signed requests, responses and notifications, amounts as strings of integer fen, errors as
 * `{error: {code, message}}` with an HTTP status. Documented in the README.
 */
export function hmacJsonRoutes(ctx: SandboxContext, provider: Extract<SandboxProviderName, "jdpay" | "ecny">, options: HmacJsonOptions): Route[] {
  const creds = ctx.keys[provider];
  const prng = ctx.prng(provider);
  const faults = ctx.faults(provider);
  const prefix = `/${provider}/v1`;

  const signedHeaders = (status: number, body: string): Record<string, string> => {
    const timestamp = String(Math.floor(ctx.clock.nowMs() / 1000));
    const nonce = prng.hex(32);
    return {
      "content-type": "application/json",
      "X-Sandbox-Timestamp": timestamp,
      "X-Sandbox-Nonce": nonce,
      "X-Sandbox-Signature": hmacSign(hmacResponseMessage(status, timestamp, nonce, body), creds.secret),
    };
  };
  const reply = (status: number, payload: object): SandboxResponse => {
    const body = JSON.stringify(payload);
    return { status, headers: signedHeaders(status, body), body };
  };
  const error = (status: number, code: string, message: string): SandboxResponse => reply(status, { error: { code, message } });

  const authenticate = (request: SandboxRequest): SandboxResponse | undefined => {
    const merchant = header(request.headers, "x-sandbox-merchant-id");
    const timestamp = header(request.headers, "x-sandbox-timestamp") ?? "";
    const nonce = header(request.headers, "x-sandbox-nonce") ?? "";
    const signature = header(request.headers, "x-sandbox-signature") ?? "";
    if (merchant !== creds.merchantId) return error(401, "INVALID_MERCHANT", "unknown merchant id");
    if (!/^\d{10}$/.test(timestamp) || Math.abs(Math.floor(ctx.clock.nowMs() / 1000) - Number(timestamp)) > 300) {
      return error(401, "INVALID_TIMESTAMP", "timestamp missing or more than 300 s off");
    }
    if (nonce === "" || !hmacVerify(hmacRequestMessage(request.method, request.pathAndQuery, timestamp, nonce, request.bodyText), signature, creds.secret)) {
      return error(401, "INVALID_SIGNATURE", "signature does not verify");
    }
    return undefined;
  };

  const status = (payment: PaymentRecord): string => {
    if (payment.status === "pending") return "PENDING";
    if (payment.status === "closed") return "CLOSED";
    const refunded = refundedMinor(payment);
    return refunded === 0n ? "SUCCEEDED" : refunded === payment.amountMinor ? "REFUNDED" : "PARTIALLY_REFUNDED";
  };
  const paymentView = (payment: PaymentRecord): object => ({
    merchantId: creds.merchantId,
    outTradeNo: payment.outTradeNo,
    providerTradeNo: payment.providerTradeNo,
    status: status(payment),
    amountMinor: payment.amountMinor.toString(),
    refundedMinor: refundedMinor(payment).toString(),
    currency: payment.currency,
    subject: payment.subject,
    qrCode: payment.extra["qrCode"],
    createdAt: iso(payment.createdAtMs),
    ...(payment.paidAtMs === undefined ? {} : { paidAt: iso(payment.paidAtMs) }),
    ...(payment.closedAtMs === undefined ? {} : { closedAt: iso(payment.closedAtMs) }),
    ...(payment.attach === undefined ? {} : { attach: payment.attach }),
  });
  const refundView = (payment: PaymentRecord, refund: RefundRecord): object => ({
    merchantId: creds.merchantId,
    outTradeNo: payment.outTradeNo,
    providerTradeNo: payment.providerTradeNo,
    outRefundNo: refund.outRefundNo,
    providerRefundNo: refund.providerRefundNo,
    status: refund.status === "success" ? "SUCCEEDED" : "PROCESSING",
    amountMinor: refund.amountMinor.toString(),
    currency: payment.currency,
    createdAt: iso(refund.createdAtMs),
    ...(refund.successAtMs === undefined ? {} : { succeededAt: iso(refund.successAtMs) }),
  });

  const notify = (url: string | undefined, payment: PaymentRecord, eventType: string, data: object, extraDelayMs: number): void => {
    if (url === undefined) return;
    // One event, one eventId: the body is made once and re-sent on every retry, each attempt
    // signed anew (timestamp, nonce); a later event (a refund) gets its own id.
    const eventId = prng.hex(32);
    const body = JSON.stringify({ eventId, eventType, occurredAt: iso(ctx.clock.nowMs()), data });
    const build = (forged: boolean): { body: string; headers: Record<string, string> } => {
      const headers = signedHeaders(0, body);
      if (forged) headers["X-Sandbox-Signature"] = hmacSign(`forged\n${body}`, creds.secret);
      return { body, headers };
    };
    ctx.notifier.dispatch(
      {
        provider,
        event: eventType,
        outTradeNo: payment.outTradeNo,
        url,
        notificationId: eventId,
        build: () => build(false),
        buildForged: () => build(true),
        isAck: (code) => code >= 200 && code < 300,
        scheduleMs: ctx.timing.notifyScheduleMs[provider] ?? HMAC_NOTIFY_SCHEDULE_MS,
      },
      faults.notifyPlan(),
      extraDelayMs,
    );
  };
  ctx.engine.register(provider, {
    onPaid: (payment, extraDelayMs) => notify(payment.notifyUrl, payment, "PAYMENT.SUCCEEDED", paymentView(payment), extraDelayMs),
    onRefundSucceeded: (payment, refund) => notify(refund.notifyUrl, payment, "REFUND.SUCCEEDED", refundView(payment, refund), 0),
  });

  const json = (request: SandboxRequest): Record<string, unknown> | undefined => {
    try {
      const parsed: unknown = JSON.parse(request.bodyText);
      return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const str = (body: Record<string, unknown>, key: string): string | undefined => (typeof body[key] === "string" ? body[key] : undefined);

  const create = (request: SandboxRequest): SandboxResponse => {
    const body = json(request);
    if (body === undefined) return error(400, "INVALID_REQUEST", "body is not a JSON object");
    const outTradeNo = str(body, "outTradeNo");
    const amountMinor = parseFen(str(body, "amountMinor"));
    const subject = str(body, "subject");
    const notifyUrl = str(body, "notifyUrl");
    if (outTradeNo === undefined || !/^[A-Za-z0-9_-]{1,64}$/.test(outTradeNo)) return error(400, "INVALID_REQUEST", "outTradeNo: 1-64 of [A-Za-z0-9_-]");
    if (amountMinor === undefined) return error(400, "INVALID_REQUEST", "amountMinor: a positive integer of fen, as a string");
    if ((str(body, "currency") ?? "CNY") !== "CNY") return error(400, "INVALID_REQUEST", "currency: only CNY");
    if (subject === undefined || subject === "") return error(400, "INVALID_REQUEST", "subject: required");
    if (notifyUrl !== undefined && !/^https?:\/\//.test(notifyUrl)) return error(400, "INVALID_REQUEST", "notifyUrl: http(s) URL");
    const existing = ctx.store.byOutTrade(provider, outTradeNo);
    if (existing !== undefined) {
      if (existing.amountMinor !== amountMinor || existing.subject !== subject) return error(409, "OUT_TRADE_NO_CONFLICT", "outTradeNo used with different parameters");
      return reply(200, paymentView(existing));
    }
    const now = ctx.clock.nowMs();
    const expireSeconds = typeof body["expireSeconds"] === "number" && body["expireSeconds"] > 0 ? body["expireSeconds"] * 1000 : ctx.timing.orderTtlMs;
    const payment = pendingPayment({
      provider,
      outTradeNo,
      providerTradeNo: `${provider === "jdpay" ? "JD" : "EC"}${formatShanghai(now, "yyyyMMddHHmmss")}${prng.digits(12)}`,
      amountMinor,
      currency: "CNY",
      subject,
      tradeType: "QR",
      notifyUrl,
      attach: str(body, "attach"),
      createdAtMs: now,
      expiresAtMs: now + expireSeconds,
      extra: { qrCode: `https://sandbox.${provider}.local/qr/${prng.hex(24)}` },
    });
    ctx.engine.created(payment, { buyerActs: true });
    return reply(201, paymentView(payment));
  };

  const get = (_request: SandboxRequest, params: readonly string[]): SandboxResponse => {
    const payment = ctx.store.byOutTrade(provider, params[0] ?? "");
    return payment === undefined ? error(404, "NOT_FOUND", "no such payment") : reply(200, paymentView(payment));
  };

  const close = (_request: SandboxRequest, params: readonly string[]): SandboxResponse => {
    const payment = ctx.store.byOutTrade(provider, params[0] ?? "");
    if (payment === undefined) return error(404, "NOT_FOUND", "no such payment");
    if (payment.status === "pending") {
      const late = faults.lateAfterClose();
      if (late === undefined || !ctx.engine.pay(payment, late.delayMs)) ctx.engine.close(payment);
    }
    if (payment.status === "paid") return error(409, "ALREADY_PAID", "payment already succeeded");
    return reply(200, paymentView(payment));
  };

  const refund = (request: SandboxRequest): SandboxResponse => {
    const body = json(request);
    if (body === undefined) return error(400, "INVALID_REQUEST", "body is not a JSON object");
    const outRefundNo = str(body, "outRefundNo");
    const amountMinor = parseFen(str(body, "amountMinor"));
    if (outRefundNo === undefined || !/^[A-Za-z0-9_-]{1,64}$/.test(outRefundNo)) return error(400, "INVALID_REQUEST", "outRefundNo: 1-64 of [A-Za-z0-9_-]");
    if (amountMinor === undefined) return error(400, "INVALID_REQUEST", "amountMinor: a positive integer of fen, as a string");
    const payment = ctx.store.byOutTrade(provider, str(body, "outTradeNo") ?? "");
    if (payment === undefined) return error(404, "NOT_FOUND", "no such payment");
    const previous = payment.refunds.find((r) => r.outRefundNo === outRefundNo);
    if (previous !== undefined) {
      return previous.amountMinor === amountMinor ? reply(200, refundView(payment, previous)) : error(409, "OUT_REFUND_NO_CONFLICT", "outRefundNo used with a different amount");
    }
    const result = ctx.engine.refund(
      payment,
      { outRefundNo, providerRefundNo: `R${payment.providerTradeNo.slice(0, 2)}${prng.digits(24)}`, amountMinor, reason: str(body, "reason"), notifyUrl: str(body, "notifyUrl") ?? payment.notifyUrl },
      { immediate: false },
    );
    if (!result.ok) {
      switch (result.error.code) {
        case "exceeds_refundable":
          return error(422, "REFUND_EXCEEDS_AMOUNT", "refunds would exceed the payment amount");
        case "invalid_amount":
          return error(400, "INVALID_REQUEST", "amountMinor: a positive integer of fen, as a string");
        case "not_paid":
          return error(409, "PAYMENT_NOT_REFUNDABLE", "payment has not succeeded");
        default:
          return assertNever(result.error, "refund refusal");
      }
    }
    return reply(201, refundView(payment, result.value));
  };

  const getRefund = (_request: SandboxRequest, params: readonly string[]): SandboxResponse => {
    const found = ctx.store.refundByOutRefundNo(provider, params[0] ?? "");
    return found === undefined ? error(404, "NOT_FOUND", "no such refund") : reply(200, refundView(found.payment, found.refund));
  };

  const bill = (_request: SandboxRequest, params: readonly string[]): SandboxResponse => {
    const day = params[0] ?? "";
    const bounds = shanghaiDayBounds(day);
    if (bounds === undefined) return error(400, "INVALID_REQUEST", "date: YYYY-MM-DD");
    if (ctx.clock.nowMs() < bounds.endMs + ctx.timing.billReadyAfterMs) return error(404, "BILL_NOT_READY", "the day has not ended in Asia/Shanghai");
    const text = writeGenericBill({ provider, merchantId: creds.merchantId, day, payments: ctx.store.list(provider), discrepancies: options.discrepancies });
    const headers = signedHeaders(200, text);
    return { status: 200, headers: { ...headers, "content-type": "text/csv; charset=utf-8" }, body: text };
  };

  const guarded = (handler: (request: SandboxRequest, params: readonly string[]) => SandboxResponse) =>
    (request: SandboxRequest, params: readonly string[]): SandboxResponse => authenticate(request) ?? handler(request, params);
  const apiFaults = { injector: faults, serverError: () => error(500, "SYSTEM_ERROR", "internal error, retry later") };
  const p = prefix.replaceAll("/", "\\/");
  return [
    { method: "POST", pattern: new RegExp(`^${p}\\/payments$`), handler: guarded(create), faults: apiFaults },
    { method: "GET", pattern: new RegExp(`^${p}\\/payments\\/([^/]+)$`), handler: guarded(get), faults: apiFaults },
    { method: "POST", pattern: new RegExp(`^${p}\\/payments\\/([^/]+)\\/close$`), handler: guarded(close), faults: apiFaults },
    { method: "POST", pattern: new RegExp(`^${p}\\/refunds$`), handler: guarded(refund), faults: apiFaults },
    { method: "GET", pattern: new RegExp(`^${p}\\/refunds\\/([^/]+)$`), handler: guarded(getRefund), faults: apiFaults },
    { method: "GET", pattern: new RegExp(`^${p}\\/bills\\/(\\d{4}-\\d{2}-\\d{2})$`), handler: guarded(bill) },
  ];
}
