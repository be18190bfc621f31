import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Money } from "@tributary/money";
import { err, ok, type Result } from "@tributary/result";
import type {
  CreatedPayment,
  CreatePaymentRequest,
  NotificationAcknowledgement,
  NotificationError,
  PaymentStatusReport,
  ProviderAdapter,
  ProviderCallError,
  RawNotification,
  RefundRequest,
  RefundStatusReport,
  VerifiedNotification,
} from "../provider-adapter.js";
import { transportFailure } from "../provider-adapter.js";
import {
  checkHmacField,
  hmacAmount,
  hmacErrorAnswer,
  hmacPaymentReport,
  hmacPaymentStatus,
  hmacRefundReport,
  hmacRefundStatus,
  parseJsonObject,
  type JsonObject,
} from "./transformers.js";
import { tracedFetch } from "../traced-fetch.js";

/** The providers that speak the generic HMAC JSON API. */
export type HmacJsonProvider = "jd_pay" | "ecny";

/** What a JD Pay or e-CNY adapter needs; the sandbox's `providers.jdpay` / `providers.ecny` have these. */
export interface HmacJsonAdapterConfig {
  /** The API root including its version prefix, e.g. `https://…/jdpay/v1`. */
  readonly baseUrl: string;
  readonly merchantId: string;
  /** The shared HMAC secret: it signs our requests and verifies the provider's answers and notifications. */
  readonly secret: string;
  readonly timeoutMs?: number;
  readonly now?: () => Date;
  /** A fresh request nonce; 16 random bytes in hex by default. */
  readonly nonce?: () => string;
}

/** The text a request signs: `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`. */
export function hmacRequestMessage(method: string, pathAndQuery: string, timestamp: string, nonce: string, body: string): string {
  return `${method}\n${pathAndQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** The text an answer (HTTP status) or a notification (status `0`) signs: `STATUS\nTIMESTAMP\nNONCE\nBODY\n`. */
export function hmacResponseMessage(status: number, timestamp: string, nonce: string, body: string): string {
  return `${status}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** Lowercase hex HMAC-SHA256 of `message` (UTF-8) under `secret`. */
export function hmacSignHex(message: string, secret: string): string {
  return createHmac("sha256", secret).update(message, "utf8").digest("hex");
}

/** Constant-time check of a hex HMAC-SHA256; anything that is not 64 hex digits fails. */
export function hmacVerifyHex(message: string, signatureHex: string, secret: string): boolean {
  if (!/^[0-9a-f]{64}$/i.test(signatureHex)) return false;
  const expected = Buffer.from(hmacSignHex(message, secret), "hex");
  return timingSafeEqual(Buffer.from(signatureHex.toLowerCase(), "hex"), expected);
}

/** Our order and refund numbers as the API accepts them; checked before anything is sent. */
const OUR_NUMBER = /^[A-Za-z0-9_-]{1,64}$/;

function rejectedLocally(providerCode: string, message: string): ProviderCallError {
  return { code: "rejected", providerCode, message, buyerSide: false, retryable: false };
}

/**
 * The adapter for the generic HMAC JSON API (services/provider-sandbox/README.md) that JD Pay and
 * e-CNY share: HMAC-SHA256 signed requests, answers verified with the same secret before a field
 * is read, every answer's merchant, order number, amount and currency checked, every status and
 * error code mapped from a table.
 */
export function createHmacJsonAdapter(provider: HmacJsonProvider, config: HmacJsonAdapterConfig): ProviderAdapter {
  const base = new URL(config.baseUrl.endsWith("/") ? config.baseUrl : `${config.baseUrl}/`);
  const timeoutMs = config.timeoutMs ?? 10_000;
  const now = config.now ?? ((): Date => new Date());
  const nonce = config.nonce ?? ((): string => randomBytes(16).toString("hex"));

  const call = async (method: "GET" | "POST", path: string, payload: object | undefined, operation: string): Promise<Result<JsonObject, ProviderCallError>> => {
    const url = new URL(path, base);
    const body = payload === undefined ? "" : JSON.stringify(payload);
    const timestamp = String(Math.floor(now().getTime() / 1000));
    const requestNonce = nonce();
    let response: Response;
    let text: string;
    try {
      response = await tracedFetch({ provider, operation }, url, {
        method,
        headers: {
          ...(payload === undefined ? {} : { "content-type": "application/json" }),
          "x-sandbox-merchant-id": config.merchantId,
          "x-sandbox-timestamp": timestamp,
          "x-sandbox-nonce": requestNonce,
          "x-sandbox-signature": hmacSignHex(hmacRequestMessage(method, `${url.pathname}${url.search}`, timestamp, requestNonce, body), config.secret),
        },
        ...(payload === undefined ? {} : { body }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      return err(transportFailure(error));
    }
    // A 5xx may follow processing; nothing in its body changes that, so it is not even read.
    if (response.status >= 500) return err({ code: "outcome_unknown", message: `${provider} answered HTTP ${response.status}`, retryable: true });
    const signature = response.headers.get("x-sandbox-signature") ?? "";
    const answerTimestamp = response.headers.get("x-sandbox-timestamp") ?? "";
    const answerNonce = response.headers.get("x-sandbox-nonce") ?? "";
    if (answerTimestamp === "" || answerNonce === "" || !hmacVerifyHex(hmacResponseMessage(response.status, answerTimestamp, answerNonce, text), signature, config.secret)) {
      return err({ code: "bad_response_signature", message: `${provider}'s HTTP ${response.status} answer does not verify with our secret`, retryable: false });
    }
    const json = parseJsonObject(text);
    if (response.status >= 200 && response.status < 300) {
      return json === undefined ? err({ code: "integrity_mismatch", field: "body", message: "the answer is not a JSON object", retryable: false }) : ok(json);
    }
    if (response.status >= 400) return err(hmacErrorAnswer(response.status, json));
    return err({ code: "outcome_unknown", message: `${provider} answered HTTP ${response.status}`, retryable: true });
  };

  const pathOf = (kind: "payments" | "refunds", id: string): string => `${kind}/${encodeURIComponent(id)}`;

  return {
    provider,

    async createPayment(request: CreatePaymentRequest): Promise<Result<CreatedPayment, ProviderCallError>> {
      if (!OUR_NUMBER.test(request.paymentId)) return err(rejectedLocally("invalid_out_trade_no", `outTradeNo must be 1-64 of [A-Za-z0-9_-]: ${request.paymentId}`));
      if (request.amount.amountMinor <= 0n) return err(rejectedLocally("invalid_amount", "amountMinor must be positive"));
      const expireSeconds = Math.ceil((request.expiresAt.getTime() - now().getTime()) / 1000);
      if (expireSeconds <= 0) return err(rejectedLocally("expired", `payment ${request.paymentId} expires before it is created`));
      const answer = await call("POST", "payments", {
        outTradeNo: request.paymentId,
        amountMinor: request.amount.amountMinor.toString(),
        currency: request.amount.currency,
        subject: request.description,
        notifyUrl: request.notifyUrl,
        attach: request.orderId,
        expireSeconds,
      }, "create payment");
      if (!answer.ok) return answer;
      const report = hmacPaymentReport(answer.value, config.merchantId, request.paymentId, request.amount);
      if (!report.ok) return report;
      const qrCode = answer.value["qrCode"];
      if (typeof qrCode !== "string" || qrCode === "") return err({ code: "integrity_mismatch", field: "qrCode", message: "the created payment has no qrCode", retryable: false });
      return ok({
        paymentId: request.paymentId,
        buyerAction: { kind: "qr_code", url: qrCode },
        ...(report.value.providerTransactionId === undefined ? {} : { providerPaymentRef: report.value.providerTransactionId }),
      });
    },

    async queryPayment(paymentId: string, expected: Money): Promise<Result<PaymentStatusReport, ProviderCallError>> {
      if (!OUR_NUMBER.test(paymentId)) return err({ code: "not_found", message: `no payment can have the number ${paymentId}`, retryable: false });
      const answer = await call("GET", pathOf("payments", paymentId), undefined, "query payment");
      return answer.ok ? hmacPaymentReport(answer.value, config.merchantId, paymentId, expected) : answer;
    },

    async closePayment(paymentId: string): Promise<Result<void, ProviderCallError>> {
      if (!OUR_NUMBER.test(paymentId)) return err({ code: "not_found", message: `no payment can have the number ${paymentId}`, retryable: false });
      const answer = await call("POST", `${pathOf("payments", paymentId)}/close`, {}, "close payment");
      if (!answer.ok) return answer;
      const merchant = checkHmacField(answer.value, "merchantId", config.merchantId);
      if (!merchant.ok) return merchant;
      const order = checkHmacField(answer.value, "outTradeNo", paymentId);
      if (!order.ok) return order;
      const statusText = typeof answer.value["status"] === "string" ? answer.value["status"] : "";
      const status = hmacPaymentStatus(statusText);
      if (!status.ok) return status;
      return status.value === "closed" ? ok(undefined) : err(rejectedLocally(statusText, `${provider} did not close payment ${paymentId}: it is ${statusText}`));
    },

    async refund(request: RefundRequest): Promise<Result<RefundStatusReport, ProviderCallError>> {
      if (!OUR_NUMBER.test(request.refundRef)) return err(rejectedLocally("invalid_out_refund_no", `outRefundNo must be 1-64 of [A-Za-z0-9_-]: ${request.refundRef}`));
      if (request.amount.currency !== request.paymentAmount.currency) return err(rejectedLocally("currency_mismatch", "a refund is in the payment's currency"));
      const answer = await call("POST", "refunds", {
        outTradeNo: request.paymentId,
        outRefundNo: request.refundRef,
        amountMinor: request.amount.amountMinor.toString(),
        reason: request.reason,
        // Without one the API notifies the payment's notifyUrl.
        ...(request.notifyUrl === undefined ? {} : { notifyUrl: request.notifyUrl }),
      }, "refund");
      return answer.ok ? hmacRefundReport(answer.value, config.merchantId, request.paymentId, request.refundRef, request.amount) : answer;
    },

    async queryRefund(request: RefundRequest): Promise<Result<RefundStatusReport, ProviderCallError>> {
      if (!OUR_NUMBER.test(request.refundRef)) return err({ code: "not_found", message: `no refund can have the number ${request.refundRef}`, retryable: false });
      const answer = await call("GET", pathOf("refunds", request.refundRef), undefined, "query refund");
      return answer.ok ? hmacRefundReport(answer.value, config.merchantId, request.paymentId, request.refundRef, request.amount) : answer;
    },

    verifyNotification(notification: RawNotification): Result<VerifiedNotification, NotificationError> {
      const timestamp = notification.headers["x-sandbox-timestamp"] ?? "";
      const notificationNonce = notification.headers["x-sandbox-nonce"] ?? "";
      const signature = notification.headers["x-sandbox-signature"] ?? "";
      const body = notification.body.toString("utf8");
      if (!/^\d{1,12}$/.test(timestamp) || notificationNonce === "" || !hmacVerifyHex(hmacResponseMessage(0, timestamp, notificationNonce, body), signature, config.secret)) {
        return err({ code: "bad_signature", message: `${provider} notification does not verify with our secret` });
      }
      const json = parseJsonObject(body);
      if (json === undefined) return err({ code: "malformed", message: "notification body is not a JSON object" });
      return decodeHmacNotification(json, config.merchantId, new Date(Number(timestamp) * 1000));
    },

    acknowledgement(accepted: boolean): NotificationAcknowledgement {
      // The API retries until any 2xx.
      return accepted
        ? { status: 200, headers: { "content-type": "application/json" }, body: '{"received":true}' }
        : { status: 400, headers: { "content-type": "application/json" }, body: '{"received":false}' };
    },
  };
}

/**
 * Decodes a verified notification `{eventId, eventType, occurredAt, data}`: `PAYMENT.SUCCEEDED`
 * carries a payment view, `REFUND.SUCCEEDED` a refund view. The amount must be there (its absence
 * is `malformed`); `eventId` is what the webhook layer dedupes on; `sentAt` is the signed header
 * timestamp.
 */
export function decodeHmacNotification(json: JsonObject, merchantId: string, sentAt: Date): Result<VerifiedNotification, NotificationError> {
  const malformed = (message: string): Result<VerifiedNotification, NotificationError> => err({ code: "malformed", message });
  const eventId = json["eventId"];
  const eventType = json["eventType"];
  const data = json["data"];
  if (typeof eventId !== "string" || eventId === "" || typeof eventType !== "string") return malformed("notification lacks eventId or eventType");
  if (typeof data !== "object" || data === null || Array.isArray(data)) return malformed("notification lacks data");
  const view = data as JsonObject;
  if (view["merchantId"] !== merchantId) return malformed(`notification is for merchant ${String(view["merchantId"])}, not ours`);
  const outTradeNo = view["outTradeNo"];
  const statusText = view["status"];
  if (typeof outTradeNo !== "string" || outTradeNo === "" || typeof statusText !== "string") return malformed("notification data lacks outTradeNo or status");
  const amount = hmacAmount(view);
  if (!amount.ok) return malformed(amount.error.message);
  const unknown = (error: ProviderCallError): Result<VerifiedNotification, NotificationError> =>
    err({ code: "unknown_provider_status", providerStatus: statusText, message: error.message });
  switch (eventType) {
    case "PAYMENT.SUCCEEDED": {
      const status = hmacPaymentStatus(statusText);
      if (!status.ok) return unknown(status.error);
      const providerTradeNo = view["providerTradeNo"];
      const paidAt = typeof view["paidAt"] === "string" ? new Date(view["paidAt"]) : undefined;
      return ok({
        kind: "payment",
        notificationId: eventId,
        sentAt,
        report: {
          paymentId: outTradeNo,
          status: status.value,
          amount: amount.value,
          providerStatus: statusText,
          ...(typeof providerTradeNo === "string" && providerTradeNo !== "" ? { providerTransactionId: providerTradeNo } : {}),
          ...(paidAt === undefined || Number.isNaN(paidAt.getTime()) ? {} : { paidAt }),
        },
      });
    }
    case "REFUND.SUCCEEDED": {
      const status = hmacRefundStatus(statusText);
      if (!status.ok) return unknown(status.error);
      const outRefundNo = view["outRefundNo"];
      if (typeof outRefundNo !== "string" || outRefundNo === "") return malformed("refund notification lacks outRefundNo");
      const providerRefundNo = view["providerRefundNo"];
      return ok({
        kind: "refund",
        notificationId: eventId,
        sentAt,
        report: {
          paymentId: outTradeNo,
          refundRef: outRefundNo,
          status: status.value,
          amount: amount.value,
          providerStatus: statusText,
          ...(typeof providerRefundNo === "string" && providerRefundNo !== "" ? { providerRefundId: providerRefundNo } : {}),
        },
      });
    }
    default:
      return err({ code: "unknown_provider_status", providerStatus: eventType, message: `event type ${JSON.stringify(eventType)} is not one this adapter handles` });
  }
}
