import { createPrivateKey, createPublicKey, createSign, randomBytes, type KeyObject } from "node:crypto";
import type { Money } from "@tributary/money";
import { err, ok, type Result } from "@tributary/result";
import {
  transportFailure,
  type BuyerAction,
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
  asObject,
  authorizationHeader,
  decodeWechatCallback,
  isFreshTimestamp,
  jsonWithAmount,
  refundReport,
  str,
  transactionReport,
  verifyWechatSignature,
  WECHAT_CURRENCY,
  wechatFailure,
  type WechatCallbackKeys,
} from "./transformers.js";
import { tracedFetch } from "../traced-fetch.js";

/** What the WeChat Pay adapter needs (public-key mode: the platform key is configured, not fetched). */
export interface WechatAdapterConfig {
  /** `https://api.mch.weixin.qq.com`, or the sandbox's URL. */
  readonly baseUrl: string;
  readonly mchid: string;
  readonly appid: string;
  readonly merchantPrivateKeyPem: string;
  /** Serial of the merchant certificate the private key belongs to. */
  readonly merchantSerial: string;
  /** The platform public key every answer and callback is verified with, and its `PUB_KEY_ID_…`. */
  readonly platformPublicKeyPem: string;
  readonly platformSerial: string;
  /** The 32-byte APIv3 key callbacks are encrypted under. */
  readonly apiV3Key: string;
  /** Per request, connection to last body byte. Default 10 s. */
  readonly timeoutMs?: number;
  /** The clock for request timestamps; default the wall clock (composition root). */
  readonly now?: () => Date;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** An answer whose `Wechatpay-*` signature verified. */
interface VerifiedAnswer {
  readonly status: number;
  readonly json: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The WeChat Pay API v3 adapter: `WECHATPAY2-SHA256-RSA2048` signed requests, every answer's
 * `Wechatpay-*` signature verified with the platform key we hold (errors included; only a 5xx,
 * which we treat as "unknown" anyway, is taken unverified), callbacks verified then decrypted
 * with AEAD_AES_256_GCM. Channels: web → Native (QR), app → APP, mini_program → JSAPI (openid).
 */
export class WechatAdapter implements ProviderAdapter {
  readonly provider = "wechat_pay" as const;
  private readonly timeoutMs: number;
  private readonly now: () => Date;
  // Parsed once: parsing a PEM costs several times one RSA verification.
  private readonly merchantPrivateKey: KeyObject;
  private readonly platform: WechatCallbackKeys;

  constructor(private readonly config: WechatAdapterConfig) {
    this.timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.now = config.now ?? (() => new Date());
    this.merchantPrivateKey = createPrivateKey(config.merchantPrivateKeyPem);
    this.platform = {
      mchid: config.mchid,
      apiV3Key: config.apiV3Key,
      platformSerial: config.platformSerial,
      platformPublicKey: createPublicKey(config.platformPublicKeyPem),
    };
  }

  async createPayment(request: CreatePaymentRequest): Promise<Result<CreatedPayment, ProviderCallError>> {
    if (request.amount.currency !== WECHAT_CURRENCY) return err(localRefusal("currency_not_supported", `WeChat Pay takes CNY, not ${request.amount.currency}`));
    const product = request.channel === "web" ? "native" : request.channel === "app" ? "app" : "jsapi";
    if (product === "jsapi" && request.providerBuyerId === undefined) return err(localRefusal("openid_required", "WeChat JSAPI needs the buyer's openid"));
    const body = {
      appid: this.config.appid,
      mchid: this.config.mchid,
      description: request.description,
      out_trade_no: request.paymentId,
      time_expire: rfc3339Shanghai(request.expiresAt),
      attach: request.orderId,
      notify_url: request.notifyUrl,
      ...(product === "jsapi" ? { payer: { openid: request.providerBuyerId } } : {}),
    };
    const json = jsonWithAmount(body, { total: request.amount.amountMinor, currency: WECHAT_CURRENCY });
    const answer = await this.send("POST", `/v3/pay/transactions/${product}`, json, "create");
    if (!answer.ok) return answer;
    const action = this.buyerAction(product, answer.value.json);
    return action.ok ? ok({ paymentId: request.paymentId, buyerAction: action.value }) : action;
  }

  async queryPayment(paymentId: string, expected: Money): Promise<Result<PaymentStatusReport, ProviderCallError>> {
    const answer = await this.send("GET", `/v3/pay/transactions/out-trade-no/${encodeURIComponent(paymentId)}?mchid=${encodeURIComponent(this.config.mchid)}`, "", "query");
    if (!answer.ok) return answer;
    if (answer.value.json === undefined) return err(noBody("query"));
    return transactionReport(answer.value.json, paymentId, this.config.mchid, expected);
  }

  async closePayment(paymentId: string): Promise<Result<void, ProviderCallError>> {
    const answer = await this.send("POST", `/v3/pay/transactions/out-trade-no/${encodeURIComponent(paymentId)}/close`, JSON.stringify({ mchid: this.config.mchid }), "close");
    return answer.ok ? ok(undefined) : answer;
  }

  async refund(request: RefundRequest): Promise<Result<RefundStatusReport, ProviderCallError>> {
    if (request.amount.currency !== WECHAT_CURRENCY) return err(localRefusal("currency_not_supported", `WeChat Pay refunds CNY, not ${request.amount.currency}`));
    const body = {
      out_trade_no: request.paymentId,
      out_refund_no: request.refundRef,
      reason: request.reason,
      ...(request.notifyUrl === undefined ? {} : { notify_url: request.notifyUrl }),
    };
    const json = jsonWithAmount(body, { refund: request.amount.amountMinor, total: request.paymentAmount.amountMinor, currency: WECHAT_CURRENCY });
    const answer = await this.send("POST", "/v3/refund/domestic/refunds", json, "refund");
    if (!answer.ok) return answer;
    if (answer.value.json === undefined) return err(noBody("refund"));
    return refundReport(answer.value.json, request);
  }

  async queryRefund(request: RefundRequest): Promise<Result<RefundStatusReport, ProviderCallError>> {
    const answer = await this.send("GET", `/v3/refund/domestic/refunds/${encodeURIComponent(request.refundRef)}`, "", "refund query");
    if (!answer.ok) return answer;
    if (answer.value.json === undefined) return err(noBody("refund query"));
    return refundReport(answer.value.json, request);
  }

  verifyNotification(notification: RawNotification): Result<VerifiedNotification, NotificationError> {
    return decodeWechatCallback(notification.headers, notification.body, this.platform);
  }

  /** WeChat stops retrying on 200/204 (no body needed); a refusal is 4xx/5xx with `{code:"FAIL"}`. */
  acknowledgement(accepted: boolean): NotificationAcknowledgement {
    return accepted
      ? { status: 204, headers: {}, body: "" }
      : { status: 400, headers: { "content-type": "application/json" }, body: JSON.stringify({ code: "FAIL", message: "rejected" }) };
  }

  /** What the buyer's wallet needs, from a verified create answer. */
  private buyerAction(product: "native" | "app" | "jsapi", json: Readonly<Record<string, unknown>> | undefined): Result<BuyerAction, ProviderCallError> {
    if (product === "native") {
      const codeUrl = str(json, "code_url");
      return codeUrl === undefined || codeUrl === ""
        ? err({ code: "integrity_mismatch", field: "code_url", message: "WeChat Native answer has no code_url", retryable: false })
        : ok({ kind: "qr_code", url: codeUrl });
    }
    const prepayId = str(json, "prepay_id");
    if (prepayId === undefined || prepayId === "") {
      return err({ code: "integrity_mismatch", field: "prepay_id", message: `WeChat ${product} answer has no prepay_id`, retryable: false });
    }
    const timestamp = String(Math.floor(this.now().getTime() / 1000));
    const nonce = randomBytes(16).toString("hex");
    const sign = (message: string): string => createSign("RSA-SHA256").update(message, "utf8").sign(this.merchantPrivateKey, "base64");
    if (product === "app") {
      // APP pay (v3): sign `appid\ntimestamp\nnoncestr\nprepayid\n` with the merchant key.
      return ok({
        kind: "app_params",
        params: {
          appid: this.config.appid,
          partnerid: this.config.mchid,
          prepayid: prepayId,
          package: "Sign=WXPay",
          noncestr: nonce,
          timestamp,
          sign: sign(`${this.config.appid}\n${timestamp}\n${nonce}\n${prepayId}\n`),
        },
      });
    }
    // JSAPI / mini program: sign `appId\ntimeStamp\nnonceStr\npackage\n`.
    const pkg = `prepay_id=${prepayId}`;
    return ok({
      kind: "app_params",
      params: { appId: this.config.appid, timeStamp: timestamp, nonceStr: nonce, package: pkg, signType: "RSA", paySign: sign(`${this.config.appid}\n${timestamp}\n${nonce}\n${pkg}\n`) },
    });
  }

  /**
   * One signed request. The answer comes back only once its `Wechatpay-*` signature verified;
   * a 5xx is `outcome_unknown` whatever it says, a verified 4xx is mapped by its `code`.
   */
  private async send(method: "GET" | "POST", apiPath: string, body: string, what: string): Promise<Result<VerifiedAnswer, ProviderCallError>> {
    // Sign exactly the path and query the server will see, including any prefix of baseUrl.
    const url = new URL(`${this.config.baseUrl.replace(/\/$/, "")}${apiPath}`);
    const pathAndQuery = `${url.pathname}${url.search}`;
    const authorization = authorizationHeader({
      mchid: this.config.mchid,
      serialNo: this.config.merchantSerial,
      privateKey: this.merchantPrivateKey,
      method,
      pathAndQuery,
      body,
      timestamp: String(Math.floor(this.now().getTime() / 1000)),
      nonce: randomBytes(16).toString("hex").toUpperCase(),
    });
    let status: number;
    let headers: Record<string, string>;
    let raw: Buffer;
    try {
      const response = await tracedFetch({ provider: "wechat_pay", operation: what }, url, {
        method,
        headers: {
          authorization,
          accept: "application/json",
          ...(method === "POST" ? { "content-type": "application/json" } : {}),
        },
        ...(method === "POST" ? { body } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      headers = Object.fromEntries(response.headers);
      raw = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      return err(transportFailure(error));
    }
    if (status >= 500) return err({ code: "outcome_unknown", message: `WeChat ${what}: HTTP ${status}`, retryable: true });
    const signatureProblem = verifyWechatSignature(headers, raw, this.platform);
    if (signatureProblem !== undefined) return err({ code: "bad_response_signature", message: `WeChat ${what}: ${signatureProblem}`, retryable: false });
    if (!isFreshTimestamp(headers["wechatpay-timestamp"], this.now().getTime())) {
      return err({ code: "bad_response_signature", message: `WeChat ${what}: Wechatpay-Timestamp ${headers["wechatpay-timestamp"] ?? ""} is more than 5 minutes off`, retryable: false });
    }
    let json: Readonly<Record<string, unknown>> | undefined;
    if (raw.length > 0) {
      try {
        json = asObject(JSON.parse(raw.toString("utf8")));
      } catch {
        json = undefined;
      }
      if (json === undefined) return err({ code: "outcome_unknown", message: `WeChat ${what}: HTTP ${status} with a body that is not a JSON object`, retryable: true });
    }
    if (status >= 200 && status < 300) return ok({ status, json });
    return err(wechatFailure(status, json, what));
  }
}

function noBody(what: string): ProviderCallError {
  return { code: "integrity_mismatch", field: "body", message: `WeChat ${what} answer has no body`, retryable: false };
}

/** A request we refuse before sending: certainly nothing was created. */
function localRefusal(providerCode: string, message: string): ProviderCallError {
  return { code: "rejected", providerCode, message, buyerSide: false, retryable: false };
}

/** RFC 3339 with +08:00, the form WeChat's times take (`time_expire`). */
export function rfc3339Shanghai(at: Date): string {
  return `${new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
}

/** Builds the WeChat Pay adapter (the factory payment routing's composition root calls). */
export function createWechatAdapter(config: WechatAdapterConfig): WechatAdapter {
  return new WechatAdapter(config);
}
