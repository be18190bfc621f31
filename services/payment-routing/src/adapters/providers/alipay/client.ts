import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { assertNever, err, ok, type Result } from "@tributary/result";
import type { Money } from "@tributary/money";
import {
  transportFailure,
  type CreatePaymentRequest,
  type CreatedPayment,
  type NotificationAcknowledgement,
  type NotificationError,
  type PaymentStatusReport,
  type ProviderAdapter,
  type ProviderCallError,
  type RawNotification,
  type RefundRequest,
  type RefundStatusReport,
  type VerifiedNotification,
} from "../provider-adapter.js";
import {
  ALIPAY_CURRENCY,
  alipayFailure,
  alipaySigningString,
  checkAmount,
  checkId,
  decodeAlipayNotification,
  field,
  mapRefundStatus,
  parseYuan,
  rsa2Sign,
  shanghaiTimestamp,
  tradeQueryReport,
  verifyAlipayResponse,
  yuanText,
  type AlipayPayload,
} from "./transformers.js";
import { tracedFetch } from "../traced-fetch.js";

/** What the Alipay adapter needs: the gateway, our app's key, and Alipay's public key. */
export interface AlipayAdapterConfig {
  /** `https://openapi.alipay.com/gateway.do`, or the sandbox's `/alipay/gateway.do`. */
  readonly gatewayUrl: string;
  readonly appId: string;
  /** Our seller id (2088…): notifications must name it. */
  readonly pid: string;
  readonly appPrivateKeyPem: string;
  /** Alipay's public key, the only key answers and notifications are verified with. */
  readonly alipayPublicKeyPem: string;
  /** Per request, connection to last body byte. Default 10 s. */
  readonly timeoutMs?: number;
  /** The clock for `timestamp` and `timeout_express`; default the wall clock (composition root). */
  readonly now?: () => Date;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** An Alipay user id (`buyer_id`): 2088 and twelve more digits; anything else is an `open_id`. */
const ALIPAY_USER_ID = /^2088\d{12}$/;

/**
 * The Alipay open-platform adapter: RSA2-signed form POSTs to `gateway.do`, every answer's `sign`
 * verified over the raw `<method>_response` text, and `trade_status_sync` notifications verified
 * without `sign`/`sign_type`. Products: face-to-face QR (`alipay.trade.precreate`, web), app
 * payment (`alipay.trade.app.pay`'s signed order string, app) and the mini-program payment
 * (`alipay.trade.create`, mini_program).
 *
 * Alipay quirk kept visible: a precreated QR trade does not exist at Alipay until the buyer
 * scans it, nor an app payment until the buyer's app submits its order string, so query and
 * close answer `ACQ.TRADE_NOT_EXIST` for such an unpaid trade. For a
 * payment we created, query reports that as `pending` (providerStatus `ACQ.TRADE_NOT_EXIST`)
 * and close as done; the caller, who knows it created the payment, closes it at expiry.
 */
export class AlipayAdapter implements ProviderAdapter {
  readonly provider = "alipay" as const;
  private readonly timeoutMs: number;
  private readonly now: () => Date;
  // Parsed once: parsing a PEM costs several times one RSA verification.
  private readonly appPrivateKey: KeyObject;
  private readonly alipayPublicKey: KeyObject;

  constructor(private readonly config: AlipayAdapterConfig) {
    this.timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.now = config.now ?? (() => new Date());
    this.appPrivateKey = createPrivateKey(config.appPrivateKeyPem);
    this.alipayPublicKey = createPublicKey(config.alipayPublicKeyPem);
  }

  /**
   * One product per channel: `web` → face-to-face QR (`alipay.trade.precreate`); `app` → the
   * signed order string of `alipay.trade.app.pay`, which the buyer's Alipay app submits itself
   * (Alipay's server SDK `sdkExecute`: no call from us, so nothing can be half-created); and
   * `mini_program` → `alipay.trade.create` (product JSAPI_PAY) for the buyer's Alipay user id or
   * open_id, whose `trade_no` the mini-program hands to `my.tradePay`.
   */
  async createPayment(request: CreatePaymentRequest): Promise<Result<CreatedPayment, ProviderCallError>> {
    if (request.amount.currency !== ALIPAY_CURRENCY) return err(localRefusal("currency_not_supported", `Alipay takes CNY, not ${request.amount.currency}`));
    const minutes = Math.max(1, Math.ceil((request.expiresAt.getTime() - this.now().getTime()) / 60_000));
    const trade = {
      out_trade_no: request.paymentId,
      total_amount: yuanText(request.amount),
      subject: request.description,
      timeout_express: `${minutes}m`,
    };
    switch (request.channel) {
      case "web":
        return this.precreate(request, trade);
      case "app":
        return ok({
          paymentId: request.paymentId,
          buyerAction: { kind: "app_params", params: { orderStr: this.appPayOrderString({ ...trade, product_code: "QUICK_MSECURITY_PAY" }, request.notifyUrl) } },
        });
      case "mini_program":
        return this.createForBuyer(request, trade);
      default:
        return assertNever(request.channel, "payment channel");
    }
  }

  private async precreate(request: CreatePaymentRequest, trade: Readonly<Record<string, string>>): Promise<Result<CreatedPayment, ProviderCallError>> {
    const answer = await this.call("alipay.trade.precreate", trade, request.notifyUrl);
    if (!answer.ok) return answer;
    const idError = checkId("out_trade_no", field(answer.value, "out_trade_no"), request.paymentId);
    if (idError !== undefined) return err(idError);
    const qrCode = field(answer.value, "qr_code");
    if (qrCode === undefined || qrCode === "") {
      return err({ code: "integrity_mismatch", field: "qr_code", message: "Alipay precreate answer has no qr_code", retryable: false });
    }
    return ok({ paymentId: request.paymentId, buyerAction: { kind: "qr_code", url: qrCode } });
  }

  /** `alipay.trade.create`: names the buyer (a 2088… user id as `buyer_id`, else `buyer_open_id`). */
  private async createForBuyer(request: CreatePaymentRequest, trade: Readonly<Record<string, string>>): Promise<Result<CreatedPayment, ProviderCallError>> {
    const buyer = request.providerBuyerId;
    if (buyer === undefined) return err(localRefusal("buyer_account_missing", "Alipay's mini-program payment needs the buyer's Alipay user id or open_id"));
    const buyerField = ALIPAY_USER_ID.test(buyer) ? { buyer_id: buyer } : { buyer_open_id: buyer };
    const answer = await this.call("alipay.trade.create", { ...trade, ...buyerField, product_code: "JSAPI_PAY" }, request.notifyUrl);
    if (!answer.ok) return answer;
    const idError = checkId("out_trade_no", field(answer.value, "out_trade_no"), request.paymentId);
    if (idError !== undefined) return err(idError);
    const tradeNo = field(answer.value, "trade_no");
    if (tradeNo === undefined || tradeNo === "") {
      return err({ code: "integrity_mismatch", field: "trade_no", message: "Alipay trade.create answer has no trade_no", retryable: false });
    }
    return ok({ paymentId: request.paymentId, buyerAction: { kind: "app_params", params: { tradeNO: tradeNo } }, providerPaymentRef: tradeNo });
  }

  /**
   * The order string the Alipay app SDK takes (`alipay.trade.app.pay`): the common parameters and
   * `biz_content`, signed like a gateway request, urlencoded. Alipay verifies it when the app
   * submits it; the trade exists at Alipay only from then on (query says `ACQ.TRADE_NOT_EXIST`
   * before, as for an unscanned QR code).
   */
  private appPayOrderString(bizContent: Readonly<Record<string, string>>, notifyUrl: string): string {
    const params = this.signedParams("alipay.trade.app.pay", bizContent, notifyUrl);
    return new URLSearchParams(params).toString();
  }

  async queryPayment(paymentId: string, expected: Money): Promise<Result<PaymentStatusReport, ProviderCallError>> {
    const answer = await this.call("alipay.trade.query", { out_trade_no: paymentId });
    if (!answer.ok) {
      if (answer.error.code === "rejected" && answer.error.providerCode === "ACQ.TRADE_NOT_EXIST") {
        // An unscanned QR trade (see the class comment). No amount is claimed, so none is checked.
        return ok({ paymentId, status: "pending", providerStatus: "ACQ.TRADE_NOT_EXIST" });
      }
      return answer;
    }
    return tradeQueryReport(answer.value, paymentId, expected);
  }

  async closePayment(paymentId: string): Promise<Result<void, ProviderCallError>> {
    const answer = await this.call("alipay.trade.close", { out_trade_no: paymentId });
    if (!answer.ok) {
      // Nothing to close: an unscanned QR trade (closing it still stops the buyer) or none at all.
      if (answer.error.code === "rejected" && answer.error.providerCode === "ACQ.TRADE_NOT_EXIST") return ok(undefined);
      return answer;
    }
    const idError = checkId("out_trade_no", field(answer.value, "out_trade_no"), paymentId);
    return idError === undefined ? ok(undefined) : err(idError);
  }

  /**
   * `alipay.trade.refund` answers only the cumulative `refund_fee`, not this refund's amount or
   * state, so a successful answer is followed by `alipay.trade.fastpay.refund.query` for this
   * `out_request_no`: the report is what Alipay says about this refund, checked field by field.
   */
  async refund(request: RefundRequest): Promise<Result<RefundStatusReport, ProviderCallError>> {
    if (request.amount.currency !== ALIPAY_CURRENCY) return err(localRefusal("currency_not_supported", `Alipay takes CNY, not ${request.amount.currency}`));
    const answer = await this.call("alipay.trade.refund", {
      out_trade_no: request.paymentId,
      refund_amount: yuanText(request.amount),
      out_request_no: request.refundRef,
      refund_reason: request.reason,
    });
    if (!answer.ok) return answer;
    const idError = checkId("out_trade_no", field(answer.value, "out_trade_no"), request.paymentId);
    if (idError !== undefined) return err(idError);
    const refundedTotal = parseYuan(field(answer.value, "refund_fee"));
    if (refundedTotal === undefined) {
      return err({ code: "integrity_mismatch", field: "refund_fee", message: "Alipay refund answer has no readable refund_fee", retryable: false });
    }
    if (refundedTotal.amountMinor < request.amount.amountMinor || refundedTotal.amountMinor > request.paymentAmount.amountMinor) {
      return err({
        code: "integrity_mismatch",
        field: "refund_fee",
        message: `Alipay says ${yuanText(refundedTotal)} refunded in all, impossible for a ${yuanText(request.amount)} refund of a ${yuanText(request.paymentAmount)} payment`,
        retryable: false,
      });
    }
    const report = await this.queryRefund(request);
    return report.ok ? ok({ ...report.value, refundedTotal }) : report;
  }

  async queryRefund(request: RefundRequest): Promise<Result<RefundStatusReport, ProviderCallError>> {
    const answer = await this.call("alipay.trade.fastpay.refund.query", {
      out_trade_no: request.paymentId,
      out_request_no: request.refundRef,
    });
    if (!answer.ok) {
      if (answer.error.code === "rejected" && answer.error.providerCode === "ACQ.TRADE_NOT_EXIST") {
        return err({ code: "not_found", message: `Alipay knows no trade ${request.paymentId}`, retryable: false });
      }
      return answer;
    }
    return refundQueryReport(answer.value, request);
  }

  verifyNotification(notification: RawNotification): Result<VerifiedNotification, NotificationError> {
    return decodeAlipayNotification(notification.body, { appId: this.config.appId, pid: this.config.pid, alipayPublicKey: this.alipayPublicKey });
  }

  /** Alipay stops retrying only on the exact body `success`; anything else is retried. */
  acknowledgement(accepted: boolean): NotificationAcknowledgement {
    return accepted
      ? { status: 200, headers: { "content-type": "text/plain; charset=utf-8" }, body: "success" }
      : { status: 400, headers: { "content-type": "text/plain; charset=utf-8" }, body: "fail" };
  }

  /** The common parameters of `method` with `biz_content`, and their RSA2 `sign`. */
  private signedParams(method: string, bizContent: Readonly<Record<string, string>>, notifyUrl: string | undefined): Record<string, string> {
    const params: Record<string, string> = {
      app_id: this.config.appId,
      method,
      format: "JSON",
      charset: "utf-8",
      sign_type: "RSA2",
      timestamp: shanghaiTimestamp(this.now()),
      version: "1.0",
      biz_content: JSON.stringify(bizContent),
      ...(notifyUrl === undefined ? {} : { notify_url: notifyUrl }),
    };
    params["sign"] = rsa2Sign(alipaySigningString(params, ["sign"]), this.appPrivateKey);
    return params;
  }

  /** One signed gateway call; the answer is returned only once its signature verified. */
  private async call(
    method: string,
    bizContent: Readonly<Record<string, string>>,
    notifyUrl?: string,
  ): Promise<Result<AlipayPayload, ProviderCallError>> {
    const params = this.signedParams(method, bizContent, notifyUrl);
    let status: number;
    let bodyText: string;
    try {
      const response = await tracedFetch({ provider: "alipay", operation: method }, this.config.gatewayUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded;charset=utf-8", accept: "application/json" },
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      bodyText = await response.text();
    } catch (error) {
      return err(transportFailure(error));
    }
    // The gateway answers every processed request with 200 (errors included); anything else is a
    // proxy or an outage in front of it, which may or may not have passed the request on.
    if (status !== 200) return err({ code: "outcome_unknown", message: `Alipay ${method}: HTTP ${status}`, retryable: true });
    const payload = verifyAlipayResponse(method, bodyText, this.alipayPublicKey);
    if (!payload.ok) return payload;
    if (field(payload.value, "code") !== "10000") return err(alipayFailure(method, payload.value));
    return payload;
  }
}

/** The refund query's answer for one refund, checked against the request. */
function refundQueryReport(payload: AlipayPayload, request: RefundRequest): Result<RefundStatusReport, ProviderCallError> {
  const idError =
    checkId("out_trade_no", field(payload, "out_trade_no"), request.paymentId) ??
    checkId("out_request_no", field(payload, "out_request_no"), request.refundRef);
  if (idError !== undefined) return err(idError);
  // Alipay answers 10000 without any refund fields when it has no such refund.
  if (field(payload, "refund_amount") === undefined && field(payload, "refund_status") === undefined) {
    return err({ code: "not_found", message: `Alipay knows no refund ${request.refundRef}`, retryable: false });
  }
  const amountError =
    checkAmount("refund_amount", field(payload, "refund_amount"), request.amount) ??
    checkAmount("total_amount", field(payload, "total_amount"), request.paymentAmount);
  if (amountError !== undefined) return err(amountError);
  const refundStatus = field(payload, "refund_status");
  const status = mapRefundStatus(refundStatus);
  if (!status.ok) {
    return err({ ...status.error, message: `Alipay refund_status ${status.error.providerStatus} is not one we know: review`, retryable: false });
  }
  return ok({
    refundRef: request.refundRef,
    status: status.value,
    amount: request.amount,
    providerStatus: refundStatus ?? "(absent)",
  });
}

/** A request we refuse before sending: certainly nothing was created. */
function localRefusal(providerCode: string, message: string): ProviderCallError {
  return { code: "rejected", providerCode, message, buyerSide: false, retryable: false };
}

/** Builds the Alipay adapter (the factory payment routing's composition root calls). */
export function createAlipayAdapter(config: AlipayAdapterConfig): AlipayAdapter {
  return new AlipayAdapter(config);
}
