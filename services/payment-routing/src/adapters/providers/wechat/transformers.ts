import { createDecipheriv, createSign, createVerify, type KeyObject } from "node:crypto";
import type { Money } from "@tributary/money";
import { err, ok, type Result } from "@tributary/result";
import type {
  NotificationError,
  PaymentStatusReport,
  ProviderCallError,
  ProviderPaymentStatus,
  ProviderRefundStatus,
  RefundStatusReport,
  VerifiedNotification,
} from "../provider-adapter.js";

/*
 * WeChat Pay API v3's own types and their mapping to the port's: the Authorization header, the
 * `Wechatpay-*` signature, AEAD_AES_256_GCM callbacks, trade and refund states, fen amounts.
 * Pure apart from node:crypto.
 */

/** The only signature scheme of API v3. */
export const WECHATPAY_SCHEME = "WECHATPAY2-SHA256-RSA2048";

/** WeChat Pay's domestic APIs (`/v3/pay/transactions/*`, `/v3/refund/domestic/*`) are CNY only. */
export const WECHAT_CURRENCY = "CNY";

/** The message a merchant signs: `METHOD\nPATH?QUERY\ntimestamp\nnonce\nbody\n` (GET: empty body line). */
export function requestMessage(method: string, pathAndQuery: string, timestamp: string, nonce: string, body: string): string {
  return `${method}\n${pathAndQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** The `Authorization` header of one request, signed with the merchant key (SHA256withRSA). */
export function authorizationHeader(input: {
  readonly mchid: string;
  readonly serialNo: string;
  readonly privateKey: KeyObject | string;
  readonly method: string;
  readonly pathAndQuery: string;
  readonly body: string;
  readonly timestamp: string;
  readonly nonce: string;
}): string {
  const signature = createSign("RSA-SHA256")
    .update(requestMessage(input.method, input.pathAndQuery, input.timestamp, input.nonce, input.body), "utf8")
    .sign(input.privateKey, "base64");
  return `${WECHATPAY_SCHEME} mchid="${input.mchid}",nonce_str="${input.nonce}",signature="${signature}",timestamp="${input.timestamp}",serial_no="${input.serialNo}"`;
}

/** The platform key we hold, named by its serial (`PUB_KEY_ID_…` in public-key mode). */
export interface WechatPlatformKey {
  readonly platformSerial: string;
  /** Parsed once where it matters: parsing a PEM costs several times one verification. */
  readonly platformPublicKey: KeyObject | string;
}

/**
 * Verifies `Wechatpay-Signature` over `timestamp\nnonce\nbody\n` (the body's exact bytes) with the
 * platform key we hold. The serial must name that key: a message signed by any other key, or one
 * that carries its own, is refused. Every header is required. Returns why it failed, or undefined.
 */
export function verifyWechatSignature(
  headers: Readonly<Record<string, string>>,
  body: Buffer,
  key: WechatPlatformKey,
): string | undefined {
  const timestamp = headers["wechatpay-timestamp"];
  const nonce = headers["wechatpay-nonce"];
  const signature = headers["wechatpay-signature"];
  const serial = headers["wechatpay-serial"];
  const signatureType = headers["wechatpay-signature-type"];
  if (timestamp === undefined || nonce === undefined || signature === undefined || serial === undefined) {
    return "Wechatpay-Timestamp, -Nonce, -Signature and -Serial are all required";
  }
  if (signatureType !== undefined && signatureType !== WECHATPAY_SCHEME) return `Wechatpay-Signature-Type ${signatureType} is not ${WECHATPAY_SCHEME}`;
  if (serial !== key.platformSerial) return `Wechatpay-Serial ${serial} is not the platform key we hold`;
  const message = Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`, "utf8"), body, Buffer.from("\n", "utf8")]);
  let valid: boolean;
  try {
    valid = createVerify("RSA-SHA256").update(message).verify(key.platformPublicKey, signature, "base64");
  } catch {
    valid = false;
  }
  return valid ? undefined : "Wechatpay-Signature does not verify";
}

/**
 * Whether a signed answer's `Wechatpay-Timestamp` is within `skewSecondsMax` of our clock, as
 * WeChat's own SDKs require of responses (5 minutes): an old signed answer replayed to us is
 * refused even though its signature is genuine. Missing or malformed is not fresh.
 */
export function isFreshTimestamp(timestamp: string | undefined, nowMs: number, skewSecondsMax = 300): boolean {
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  return Math.abs(Math.floor(nowMs / 1000) - Number.parseInt(timestamp, 10)) <= skewSecondsMax;
}

/** The encrypted `resource` of a callback. */
export interface EncryptedResource {
  readonly algorithm: string;
  readonly ciphertext: string;
  readonly nonce: string;
  readonly associated_data?: string;
  readonly original_type?: string;
}

/**
 * AEAD_AES_256_GCM with the 32-byte APIv3 key: IV = the nonce, AAD = associated_data (may be
 * empty), the last 16 bytes of the base64 ciphertext are the tag. Undefined when it does not
 * authenticate: a tampered or foreign resource never yields plaintext.
 */
export function decryptResource(apiV3Key: string, resource: EncryptedResource): string | undefined {
  if (resource.algorithm !== "AEAD_AES_256_GCM") return undefined;
  const key = Buffer.from(apiV3Key, "utf8");
  const data = Buffer.from(resource.ciphertext, "base64");
  if (key.length !== 32 || data.length < 16) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(resource.nonce, "utf8"));
    decipher.setAAD(Buffer.from(resource.associated_data ?? "", "utf8"));
    decipher.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}

/**
 * `trade_state`, each mapped explicitly. `REFUND` (转入退款) says some refund was accepted, not
 * how much: it is `partially_refunded` ("at least partly"), and the refund queries carry the
 * amounts. An unknown state is an error for review, never a guess.
 */
export function mapTradeState(
  tradeState: string,
): Result<ProviderPaymentStatus, { code: "unknown_provider_status"; providerStatus: string }> {
  switch (tradeState) {
    case "SUCCESS":
      return ok("captured");
    case "REFUND":
      return ok("partially_refunded");
    case "NOTPAY":
      return ok("pending");
    // Code payments only: the buyer is entering a password.
    case "USERPAYING":
      return ok("pending");
    // Accepted, debit not done yet.
    case "ACCEPT":
      return ok("pending");
    case "CLOSED":
      return ok("closed");
    // Code payments revoked by the merchant: nothing is owed.
    case "REVOKED":
      return ok("closed");
    case "PAYERROR":
      return ok("failed");
    default:
      return err({ code: "unknown_provider_status", providerStatus: tradeState });
  }
}

/**
 * Refund `status` (query) / `refund_status` (callback). `ABNORMAL` means the money could not
 * reach the buyer's card and the merchant must redirect it: the refund is neither done nor
 * failed, so it stays `processing` until a later answer says SUCCESS or CLOSED.
 */
export function mapRefundState(
  state: string,
): Result<ProviderRefundStatus, { code: "unknown_provider_status"; providerStatus: string }> {
  switch (state) {
    case "SUCCESS":
      return ok("succeeded");
    case "PROCESSING":
      return ok("processing");
    case "ABNORMAL":
      return ok("processing");
    case "CLOSED":
      return ok("failed");
    default:
      return err({ code: "unknown_provider_status", providerStatus: state });
  }
}

/**
 * A request body whose `amount` member holds fen as JSON integers, written from the bigint's own
 * digits: no amount ever passes through a JS number on the way out. The other members are
 * ordinary JSON.
 */
export function jsonWithAmount(members: Readonly<Record<string, unknown>>, amount: Readonly<Record<string, bigint | string>>): string {
  const amountJson = Object.entries(amount)
    .map(([name, value]) => {
      if (typeof value === "bigint" && value < 0n) throw new RangeError(`amount.${name} ${value} fen cannot be a WeChat amount`);
      return `${JSON.stringify(name)}:${typeof value === "bigint" ? value.toString() : JSON.stringify(value)}`;
    })
    .join(",");
  const rest = JSON.stringify(members);
  return rest === "{}" ? `{"amount":{${amountJson}}}` : `${rest.slice(0, -1)},"amount":{${amountJson}}}`;
}

/**
 * A fen JSON number (as JSON.parse gives it) as bigint; undefined unless it is a non-negative
 * safe integer, which a double holds exactly (a WeChat total is an int32).
 */
export function fenFromJson(value: unknown): bigint | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
}

type Json = Readonly<Record<string, unknown>>;

/** A JSON object, or undefined. */
export function asObject(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/** A string member, or undefined. */
export function str(object: Json | undefined, name: string): string | undefined {
  const value = object?.[name];
  return typeof value === "string" ? value : undefined;
}

const mismatch = (fieldName: string, message: string): ProviderCallError => ({ code: "integrity_mismatch", field: fieldName, message, retryable: false });

/** Checks an id member against ours; a missing one fails. */
export function checkId(object: Json, fieldName: string, expected: string): ProviderCallError | undefined {
  const actual = str(object, fieldName);
  return actual === expected ? undefined : mismatch(fieldName, `WeChat answer has ${fieldName}=${actual ?? "(absent)"}, expected ${expected}`);
}

/**
 * Checks `amount.<member>` (fen) and `amount.currency` against what we asked. Both are required
 * unless `currencyImplied`, for the few answers (refund callbacks) whose documented `amount` has
 * no currency: those come only from the CNY-only domestic refund API.
 */
export function checkAmount(
  amount: Json | undefined,
  member: string,
  expected: Money,
  options: { readonly currencyImplied?: boolean } = {},
): ProviderCallError | undefined {
  if (expected.currency !== WECHAT_CURRENCY) return mismatch("amount.currency", `WeChat domestic answers are CNY, expected ${expected.currency}`);
  const fen = fenFromJson(amount?.[member]);
  if (fen === undefined) return mismatch(`amount.${member}`, `WeChat answer has no readable amount.${member}`);
  if (fen !== expected.amountMinor) return mismatch(`amount.${member}`, `WeChat says amount.${member}=${fen} fen, expected ${expected.amountMinor}`);
  const currency = str(amount, "currency");
  if (currency === undefined && options.currencyImplied === true) return undefined;
  if (currency !== expected.currency) return mismatch("amount.currency", `WeChat says currency ${currency ?? "(absent)"}, expected ${expected.currency}`);
  return undefined;
}

/** A transaction (query answer or decrypted callback), checked against the request. */
export function transactionReport(
  transaction: Json,
  paymentId: string,
  mchid: string,
  expected: Money | undefined,
): Result<PaymentStatusReport, ProviderCallError> {
  const idError = checkId(transaction, "out_trade_no", paymentId) ?? checkId(transaction, "mchid", mchid);
  if (idError !== undefined) return err(idError);
  const tradeState = str(transaction, "trade_state");
  if (tradeState === undefined) return err(mismatch("trade_state", "WeChat transaction has no trade_state"));
  const status = mapTradeState(tradeState);
  if (!status.ok) return err({ ...status.error, message: `WeChat trade_state ${tradeState} is not one we know: review`, retryable: false });
  const amount = asObject(transaction["amount"]);
  const paid = status.value === "captured" || status.value === "partially_refunded" || status.value === "refunded";
  const transactionId = str(transaction, "transaction_id");
  if (paid && (transactionId === undefined || transactionId === "")) return err(mismatch("transaction_id", "WeChat says paid but gives no transaction_id"));
  let reported: Money | undefined;
  if (expected !== undefined) {
    // An unpaid order carries no amount.total; a paid one must, and so must any answer that states one.
    if (paid || amount?.["total"] !== undefined) {
      const amountError = checkAmount(amount, "total", expected);
      if (amountError !== undefined) return err(amountError);
      reported = expected;
    }
  } else {
    const fen = fenFromJson(amount?.["total"]);
    const currency = str(amount, "currency");
    if (paid && (fen === undefined || currency !== WECHAT_CURRENCY)) return err(mismatch("amount", "WeChat paid transaction has no readable CNY amount"));
    if (fen !== undefined && currency === WECHAT_CURRENCY) reported = { amountMinor: fen, currency };
  }
  const successTime = str(transaction, "success_time");
  const paidAt = successTime === undefined ? undefined : new Date(successTime);
  return ok({
    paymentId,
    status: status.value,
    providerStatus: tradeState,
    ...(reported === undefined ? {} : { amount: reported }),
    ...(transactionId === undefined ? {} : { providerTransactionId: transactionId }),
    ...(paidAt === undefined || Number.isNaN(paidAt.getTime()) ? {} : { paidAt }),
  });
}

/** A refund (`/v3/refund/domestic/refunds` answer), checked against the request. */
export function refundReport(
  refund: Json,
  request: { readonly paymentId: string; readonly refundRef: string; readonly amount: Money; readonly paymentAmount: Money },
): Result<RefundStatusReport, ProviderCallError> {
  const idError = checkId(refund, "out_refund_no", request.refundRef) ?? checkId(refund, "out_trade_no", request.paymentId);
  if (idError !== undefined) return err(idError);
  const amount = asObject(refund["amount"]);
  const amountError = checkAmount(amount, "refund", request.amount) ?? checkAmount(amount, "total", request.paymentAmount);
  if (amountError !== undefined) return err(amountError);
  const state = str(refund, "status");
  if (state === undefined) return err(mismatch("status", "WeChat refund has no status"));
  const status = mapRefundState(state);
  if (!status.ok) return err({ ...status.error, message: `WeChat refund status ${state} is not one we know: review`, retryable: false });
  const refundId = str(refund, "refund_id");
  return ok({
    refundRef: request.refundRef,
    status: status.value,
    amount: request.amount,
    providerStatus: state,
    ...(refundId === undefined ? {} : { providerRefundId: refundId }),
  });
}

/** An API v3 error body `{code, message}` with its HTTP status (4xx), as the port's error. */
export function wechatFailure(httpStatus: number, body: Json | undefined, what: string): ProviderCallError {
  const code = str(body, "code") ?? `HTTP_${httpStatus}`;
  const message = `WeChat ${what}: ${httpStatus} ${code} ${str(body, "message") ?? ""}`.trim();
  switch (code) {
    case "ORDER_NOT_EXIST":
    case "RESOURCE_NOT_EXISTS":
      return { code: "not_found", message, retryable: false };
    // A repeated create of a paid order: it exists and is paid, so this is no refusal. Query it.
    case "ORDERPAID":
      return what === "create" ? { code: "outcome_unknown", message: `${message} (already paid: query it)`, retryable: true } : rejected(code, message);
    // Rate limited or busy: WeChat may or may not have taken it.
    case "FREQUENCY_LIMITED":
    case "SYSTEM_ERROR":
    case "BANK_ERROR":
      return { code: "outcome_unknown", message, retryable: true };
    case "NOT_ENOUGH":
      return rejected(code, message);
    default:
      // API v3 answers a request it refused with 4xx and did not act on it (WeChat's error doc).
      return httpStatus >= 400 && httpStatus < 500 && httpStatus !== 429
        ? rejected(code, message)
        : { code: "outcome_unknown", message: `${message} (undocumented answer)`, retryable: true };
  }
}

function rejected(providerCode: string, message: string): ProviderCallError {
  return { code: "rejected", providerCode, message, buyerSide: false, retryable: false };
}

/** What a callback must be checked against: our merchant id, the platform key, the APIv3 key. */
export interface WechatCallbackKeys extends WechatPlatformKey {
  readonly mchid: string;
  readonly apiV3Key: string;
}

/**
 * Verifies and decodes one callback: `Wechatpay-*` signature over the exact body with the platform
 * key we hold, then the resource decrypted (AEAD authenticates it a second time), then the
 * transaction or refund inside decoded and checked for our `mchid`. `sentAt` is the signed
 * `Wechatpay-Timestamp`, for the webhook layer's replay window.
 */
export function decodeWechatCallback(
  headers: Readonly<Record<string, string>>,
  body: Buffer,
  keys: WechatCallbackKeys,
): Result<VerifiedNotification, NotificationError> {
  const signatureProblem = verifyWechatSignature(headers, body, keys);
  if (signatureProblem !== undefined) return err({ code: "bad_signature", message: `WeChat callback: ${signatureProblem}` });
  const malformed = (message: string): Result<never, NotificationError> => err({ code: "malformed", message: `WeChat callback: ${message}` });
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return malformed("body is not JSON");
  }
  const envelope = asObject(parsed);
  const notificationId = str(envelope, "id");
  const eventType = str(envelope, "event_type");
  const resource = asObject(envelope?.["resource"]);
  if (notificationId === undefined || notificationId === "") return malformed("no id");
  if (eventType === undefined) return malformed("no event_type");
  if (str(envelope, "resource_type") !== "encrypt-resource") return malformed("resource_type is not encrypt-resource");
  const algorithm = str(resource, "algorithm");
  const ciphertext = str(resource, "ciphertext");
  const nonce = str(resource, "nonce");
  if (algorithm !== "AEAD_AES_256_GCM" || ciphertext === undefined || nonce === undefined) return malformed("resource is not AEAD_AES_256_GCM with ciphertext and nonce");
  const associatedData = str(resource, "associated_data");
  const plaintext = decryptResource(keys.apiV3Key, { algorithm, ciphertext, nonce, ...(associatedData === undefined ? {} : { associated_data: associatedData }) });
  if (plaintext === undefined) return err({ code: "decrypt_failed", message: "WeChat callback resource does not decrypt with our APIv3 key" });
  let inner: Json | undefined;
  try {
    inner = asObject(JSON.parse(plaintext));
  } catch {
    inner = undefined;
  }
  if (inner === undefined) return malformed("decrypted resource is not a JSON object");
  const timestamp = headers["wechatpay-timestamp"] ?? "";
  const sentAt = /^\d{1,12}$/.test(timestamp) ? new Date(Number.parseInt(timestamp, 10) * 1000) : undefined;
  const paymentId = str(inner, "out_trade_no");
  if (paymentId === undefined || paymentId === "") return malformed("no out_trade_no");
  switch (eventType) {
    case "TRANSACTION.SUCCESS": {
      const report = transactionReport(inner, paymentId, keys.mchid, undefined);
      if (!report.ok) {
        return report.error.code === "unknown_provider_status"
          ? err({ code: "unknown_provider_status", providerStatus: report.error.providerStatus, message: report.error.message })
          : malformed(report.error.message);
      }
      return ok({ kind: "payment", notificationId, ...(sentAt === undefined ? {} : { sentAt }), report: report.value });
    }
    case "REFUND.SUCCESS":
    case "REFUND.ABNORMAL":
    case "REFUND.CLOSED": {
      if (str(inner, "mchid") !== keys.mchid) return malformed(`mchid ${str(inner, "mchid") ?? "(absent)"} is not ours`);
      const refundRef = str(inner, "out_refund_no");
      const state = str(inner, "refund_status");
      if (refundRef === undefined || refundRef === "") return malformed("no out_refund_no");
      if (state === undefined) return malformed("no refund_status");
      const status = mapRefundState(state);
      if (!status.ok) return err({ ...status.error, message: `WeChat refund_status ${state} is not one we know: review` });
      const amount = asObject(inner["amount"]);
      const fen = fenFromJson(amount?.["refund"]);
      if (fen === undefined) return malformed("no readable amount.refund");
      const refundId = str(inner, "refund_id");
      return ok({
        kind: "refund",
        notificationId,
        ...(sentAt === undefined ? {} : { sentAt }),
        report: {
          paymentId,
          refundRef,
          status: status.value,
          // The refund callback's documented amount has no currency; the domestic refund API is CNY only.
          amount: { amountMinor: fen, currency: WECHAT_CURRENCY },
          providerStatus: state,
          ...(refundId === undefined ? {} : { providerRefundId: refundId }),
        },
      });
    }
    default:
      return err({ code: "unknown_provider_status", providerStatus: eventType, message: `WeChat event_type ${eventType} is not one we know: review` });
  }
}
