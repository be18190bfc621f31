import { createSign, createVerify, type KeyObject } from "node:crypto";
import { formatDecimal, parseDecimal, type Money } from "@tributary/money";
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
 * Alipay's own types and their mapping to the port's: signing strings, the signed response
 * envelope, trade and refund statuses, amounts, notifications. Pure apart from node:crypto.
 */

/**
 * Alipay's string to sign: drop the excluded keys (`sign` for requests; `sign` and `sign_type`
 * when verifying an async notification) and every empty value, sort the rest by key in ASCII
 * order, and join the raw (not URL-encoded) `k=v` pairs with `&`.
 */
export function alipaySigningString(params: Readonly<Record<string, string>>, exclude: readonly string[]): string {
  return Object.keys(params)
    .filter((key) => !exclude.includes(key) && params[key] !== "")
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((key) => `${key}=${params[key] ?? ""}`)
    .join("&");
}

/** RSA2 = SHA256withRSA over the UTF-8 bytes, base64. */
export function rsa2Sign(content: string, privateKey: KeyObject | string): string {
  return createSign("RSA-SHA256").update(content, "utf8").sign(privateKey, "base64");
}

/**
 * Checks an RSA2 signature with the key we hold; a malformed signature is simply false. Pass a
 * parsed KeyObject on hot paths: parsing the PEM costs several times the verification itself.
 */
export function rsa2Verify(content: string, signatureBase64: string, publicKey: KeyObject | string): boolean {
  try {
    return createVerify("RSA-SHA256").update(content, "utf8").verify(publicKey, signatureBase64, "base64");
  } catch {
    return false;
  }
}

/** "yyyy-MM-dd HH:mm:ss" in Asia/Shanghai (UTC+8 all year), the form of Alipay's `timestamp`. */
export function shanghaiTimestamp(at: Date): string {
  return new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace("T", " ");
}

/** Reads Alipay's "yyyy-MM-dd HH:mm:ss[.SSS]" Asia/Shanghai times; undefined when malformed. */
export function parseShanghaiTimestamp(text: string | undefined): Date | undefined {
  if (text === undefined || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,3})?$/.test(text)) return undefined;
  const at = new Date(`${text.replace(" ", "T")}+08:00`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/**
 * Splits the top level of a JSON object text into each key's raw value text, without re-encoding
 * anything. Alipay signs the exact characters of `<method>_response` as they were sent, so the
 * signature must be checked over that substring, never over `JSON.stringify(JSON.parse(...))`
 * (which would reorder nothing but could re-escape `/` or unicode and break the check).
 * Returns undefined unless the text is one object whose values this scanner can delimit.
 */
export function topLevelRawValues(text: string): ReadonlyMap<string, string> | undefined {
  const values = new Map<string, string>();
  let i = skipSpace(text, 0);
  if (text[i] !== "{") return undefined;
  i = skipSpace(text, i + 1);
  if (text[i] === "}") return skipSpace(text, i + 1) === text.length ? values : undefined;
  for (;;) {
    if (text[i] !== '"') return undefined;
    const keyEnd = endOfString(text, i);
    if (keyEnd === undefined) return undefined;
    let key: unknown;
    try {
      key = JSON.parse(text.slice(i, keyEnd));
    } catch {
      return undefined;
    }
    if (typeof key !== "string") return undefined;
    i = skipSpace(text, keyEnd);
    if (text[i] !== ":") return undefined;
    const start = skipSpace(text, i + 1);
    const end = endOfValue(text, start);
    if (end === undefined) return undefined;
    values.set(key, text.slice(start, end));
    i = skipSpace(text, end);
    if (text[i] === ",") {
      i = skipSpace(text, i + 1);
      continue;
    }
    if (text[i] === "}") return skipSpace(text, i + 1) === text.length ? values : undefined;
    return undefined;
  }
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && " \t\r\n".includes(text[i] ?? "")) i += 1;
  return i;
}

/** Index just past the string literal starting at `from` (a `"`). */
function endOfString(text: string, from: number): number | undefined {
  for (let i = from + 1; i < text.length; i += 1) {
    if (text[i] === "\\") i += 1;
    else if (text[i] === '"') return i + 1;
  }
  return undefined;
}

/** Index just past the JSON value starting at `from`. */
function endOfValue(text: string, from: number): number | undefined {
  const first = text[from];
  if (first === '"') return endOfString(text, from);
  if (first === "{" || first === "[") {
    let depth = 0;
    for (let i = from; i < text.length; i += 1) {
      const c = text[i];
      if (c === '"') {
        const end = endOfString(text, i);
        if (end === undefined) return undefined;
        i = end - 1;
      } else if (c === "{" || c === "[") depth += 1;
      else if (c === "}" || c === "]") {
        depth -= 1;
        if (depth === 0) return i + 1;
      }
    }
    return undefined;
  }
  const match = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(from));
  return match === null ? undefined : from + match[0].length;
}

/** A gateway answer whose signature verified: the decoded `<method>_response` object. */
export type AlipayPayload = Readonly<Record<string, unknown>>;

/**
 * Checks a gateway answer: the `<method>_response` (or `error_response`) value's raw text must
 * carry a `sign` that verifies with Alipay's public key we hold. A missing `sign` fails: an
 * unsigned answer proves nothing about what Alipay did.
 */
export function verifyAlipayResponse(
  method: string,
  bodyText: string,
  alipayPublicKey: KeyObject | string,
): Result<AlipayPayload, ProviderCallError> {
  const values = topLevelRawValues(bodyText);
  const responseKey = `${method.replaceAll(".", "_")}_response`;
  const raw = values?.get(responseKey) ?? values?.get("error_response");
  const signText = values?.get("sign");
  if (raw === undefined) {
    return err({ code: "bad_response_signature", message: `Alipay answer has no ${responseKey}`, retryable: false });
  }
  let sign: unknown;
  try {
    sign = signText === undefined ? undefined : JSON.parse(signText);
  } catch {
    sign = undefined;
  }
  if (typeof sign !== "string" || sign === "") {
    return err({ code: "bad_response_signature", message: `Alipay ${method} answer is not signed`, retryable: false });
  }
  if (!rsa2Verify(raw, sign, alipayPublicKey)) {
    return err({ code: "bad_response_signature", message: `Alipay ${method} answer signature does not verify`, retryable: false });
  }
  let payload: unknown;
  try {
    payload = JSON.parse(raw);
  } catch {
    payload = undefined;
  }
  // Signed by Alipay yet unreadable: we cannot tell what it did.
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return err({ code: "outcome_unknown", message: `Alipay ${method} answer is not a JSON object`, retryable: true });
  }
  return ok(payload as AlipayPayload);
}

/** A string field of an Alipay answer; undefined when absent or not a string. */
export function field(payload: AlipayPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * A business or protocol failure in a signed answer (`code` other than 10000), as the port's
 * error. 20000 and `ACQ.SYSTEM_ERROR` are Alipay saying it may not have finished: query first.
 * A `code` Alipay does not document is treated the same way, since "nothing happened" would be a
 * guess. Known refusals (40001–40006) certainly changed nothing.
 */
export function alipayFailure(method: string, payload: AlipayPayload): ProviderCallError {
  const code = field(payload, "code") ?? "(absent)";
  const subCode = field(payload, "sub_code") ?? "";
  const message = `Alipay ${method}: ${code} ${subCode} ${field(payload, "sub_msg") ?? field(payload, "msg") ?? ""}`.trim();
  switch (code) {
    case "20000":
      return { code: "outcome_unknown", message, retryable: true };
    case "40004":
      if (subCode === "ACQ.SYSTEM_ERROR") return { code: "outcome_unknown", message, retryable: true };
      // The trade already succeeded: a repeated create says so instead of creating. Not a refusal.
      if (subCode === "ACQ.TRADE_HAS_SUCCESS") return { code: "outcome_unknown", message: `${message} (already paid: query it)`, retryable: true };
      return { code: "rejected", providerCode: subCode, message, buyerSide: BUYER_SIDE_SUB_CODES.has(subCode), retryable: false };
    case "40001":
    case "40002":
    case "40003":
    case "40006":
      return { code: "rejected", providerCode: subCode === "" ? code : subCode, message, buyerSide: false, retryable: false };
    default:
      return { code: "outcome_unknown", message: `${message} (undocumented code)`, retryable: true };
  }
}

/** Refusals caused by the buyer (their balance, their payment code), not by us. */
const BUYER_SIDE_SUB_CODES: ReadonlySet<string> = new Set([
  "ACQ.BUYER_BALANCE_NOT_ENOUGH",
  "ACQ.PAYMENT_AUTH_CODE_INVALID",
  "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH",
  "ACQ.BUYER_ENABLE_STATUS_FORBID",
  "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR",
  "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR",
]);

/**
 * Alipay's `trade_status`, each mapped explicitly. `TRADE_CLOSED` means either "closed unpaid"
 * or "fully refunded after payment": `paid` (the answer carries `send_pay_date` / `gmt_payment`)
 * tells them apart. Partial refunds leave a trade `TRADE_SUCCESS`, so Alipay's query never says
 * `partially_refunded`; refund amounts come from the refund query. An unknown status is an error
 * for review, never a guess.
 */
export function mapTradeStatus(
  tradeStatus: string,
  paid: boolean,
): Result<ProviderPaymentStatus, { code: "unknown_provider_status"; providerStatus: string }> {
  switch (tradeStatus) {
    case "WAIT_BUYER_PAY":
      return ok("pending");
    case "TRADE_SUCCESS":
      return ok("captured");
    // Paid, and past the refund window: still money we hold.
    case "TRADE_FINISHED":
      return ok("captured");
    case "TRADE_CLOSED":
      return ok(paid ? "refunded" : "closed");
    default:
      return err({ code: "unknown_provider_status", providerStatus: tradeStatus });
  }
}

/**
 * `refund_status` of `alipay.trade.fastpay.refund.query`. Alipay documents only `REFUND_SUCCESS`;
 * when the refund exists but the field is absent, Alipay says the refund "was not received or
 * failed" and asks the merchant to send it again with the same `out_request_no`. That is
 * `processing` here (retry with the same reference, idempotent), never `failed`, which would
 * invite a second refund under a new reference.
 */
export function mapRefundStatus(
  refundStatus: string | undefined,
): Result<ProviderRefundStatus, { code: "unknown_provider_status"; providerStatus: string }> {
  switch (refundStatus) {
    case "REFUND_SUCCESS":
      return ok("succeeded");
    case undefined:
      return ok("processing");
    default:
      return err({ code: "unknown_provider_status", providerStatus: refundStatus });
  }
}

/** Alipay's domestic acquiring API speaks only CNY, in yuan text. */
export const ALIPAY_CURRENCY = "CNY";

/** Money as Alipay's yuan text ("12.34"). */
export function yuanText(amount: Money): string {
  return formatDecimal(amount);
}

/** Yuan text as CNY Money; undefined when absent or not an exact amount. */
export function parseYuan(text: string | undefined): Money | undefined {
  if (text === undefined) return undefined;
  const parsed = parseDecimal(text, ALIPAY_CURRENCY);
  return parsed.ok ? parsed.value : undefined;
}

/**
 * Checks an amount field of an answer against what we asked. A missing or unreadable field fails,
 * as does another currency: the check never passes by absence.
 */
export function checkAmount(fieldName: string, text: string | undefined, expected: Money): ProviderCallError | undefined {
  if (expected.currency !== ALIPAY_CURRENCY) {
    return { code: "integrity_mismatch", field: "currency", message: `Alipay answers in CNY, expected ${expected.currency}`, retryable: false };
  }
  const actual = parseYuan(text);
  if (actual === undefined) {
    return { code: "integrity_mismatch", field: fieldName, message: `Alipay answer has no readable ${fieldName} (${text ?? "absent"})`, retryable: false };
  }
  if (actual.amountMinor !== expected.amountMinor) {
    return {
      code: "integrity_mismatch",
      field: fieldName,
      message: `Alipay says ${fieldName}=${text ?? ""}, expected ${yuanText(expected)}`,
      retryable: false,
    };
  }
  return undefined;
}

/** Checks that an answer names the trade we asked about; a missing id fails. */
export function checkId(fieldName: string, actual: string | undefined, expected: string): ProviderCallError | undefined {
  if (actual === expected) return undefined;
  return { code: "integrity_mismatch", field: fieldName, message: `Alipay answer has ${fieldName}=${actual ?? "(absent)"}, expected ${expected}`, retryable: false };
}

/** What `alipay.trade.query` says about a trade, checked against the request. */
export function tradeQueryReport(
  payload: AlipayPayload,
  paymentId: string,
  expected: Money,
): Result<PaymentStatusReport, ProviderCallError> {
  const idError = checkId("out_trade_no", field(payload, "out_trade_no"), paymentId);
  if (idError !== undefined) return err(idError);
  const tradeStatus = field(payload, "trade_status");
  if (tradeStatus === undefined) {
    return err({ code: "integrity_mismatch", field: "trade_status", message: "Alipay query answer has no trade_status", retryable: false });
  }
  const paidAt = parseShanghaiTimestamp(field(payload, "send_pay_date") ?? field(payload, "gmt_payment"));
  const status = mapTradeStatus(tradeStatus, paidAt !== undefined);
  if (!status.ok) {
    return err({ ...status.error, message: `Alipay trade_status ${tradeStatus} is not one we know: review`, retryable: false });
  }
  const amountError = checkAmount("total_amount", field(payload, "total_amount"), expected);
  if (amountError !== undefined) return err(amountError);
  const tradeNo = field(payload, "trade_no");
  const settled = status.value === "captured" || status.value === "refunded";
  if (settled && (tradeNo === undefined || tradeNo === "")) {
    return err({ code: "integrity_mismatch", field: "trade_no", message: "Alipay says paid but gives no trade_no", retryable: false });
  }
  return ok({
    paymentId,
    status: status.value,
    providerStatus: tradeStatus,
    amount: expected,
    ...(tradeNo === undefined || tradeNo === "" ? {} : { providerTransactionId: tradeNo }),
    ...(paidAt === undefined ? {} : { paidAt }),
  });
}

/** Decodes an urlencoded form body exactly as sent (UTF-8; `+` is a space). */
export function parseFormBody(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(body.toString("utf8"))) fields[key] = value;
  return fields;
}

/** Whom the notifications must be for: our app and our seller id. */
export interface AlipayNotificationKeys {
  readonly appId: string;
  readonly pid: string;
  readonly alipayPublicKey: KeyObject | string;
}

/**
 * Verifies and decodes one `trade_status_sync` notification: RSA2 over every field but `sign`
 * and `sign_type` with Alipay's public key we hold, then `app_id` and `seller_id` must be ours
 * (Alipay's own checklist). A notification with `out_biz_no` + `refund_fee` is a refund's; its
 * `refund_fee` is the cumulative refunded amount, so the report carries `refundedTotal` and no
 * per-refund `amount`.
 */
export function decodeAlipayNotification(
  body: Buffer,
  keys: AlipayNotificationKeys,
): Result<VerifiedNotification, NotificationError> {
  const fields = parseFormBody(body);
  const sign = fields["sign"];
  if (sign === undefined || sign === "") return err({ code: "bad_signature", message: "Alipay notification has no sign" });
  if (fields["sign_type"] !== "RSA2") return err({ code: "bad_signature", message: `Alipay notification sign_type ${fields["sign_type"] ?? "(absent)"} is not RSA2` });
  if (!rsa2Verify(alipaySigningString(fields, ["sign", "sign_type"]), sign, keys.alipayPublicKey)) {
    return err({ code: "bad_signature", message: "Alipay notification signature does not verify" });
  }
  const malformed = (message: string): Result<never, NotificationError> => err({ code: "malformed", message: `Alipay notification: ${message}` });
  if (fields["app_id"] !== keys.appId) return malformed(`app_id ${fields["app_id"] ?? "(absent)"} is not ours`);
  if (fields["seller_id"] !== keys.pid) return malformed(`seller_id ${fields["seller_id"] ?? "(absent)"} is not ours`);
  const notificationId = fields["notify_id"];
  const paymentId = fields["out_trade_no"];
  const tradeStatus = fields["trade_status"];
  const tradeNo = fields["trade_no"];
  if (notificationId === undefined || notificationId === "") return malformed("no notify_id");
  if (paymentId === undefined || paymentId === "") return malformed("no out_trade_no");
  if (tradeStatus === undefined) return malformed("no trade_status");
  if (tradeNo === undefined || tradeNo === "") return malformed("no trade_no");
  const total = parseYuan(fields["total_amount"]);
  if (total === undefined) return malformed(`total_amount ${fields["total_amount"] ?? "(absent)"} is not an amount`);
  const sentAt = parseShanghaiTimestamp(fields["notify_time"]);
  const paidAt = parseShanghaiTimestamp(fields["gmt_payment"]);
  const status = mapTradeStatus(tradeStatus, paidAt !== undefined);
  if (!status.ok) {
    return err({ code: "unknown_provider_status", providerStatus: tradeStatus, message: `Alipay trade_status ${tradeStatus} is not one we know: review` });
  }
  const refundRef = fields["out_biz_no"];
  const refundFee = fields["refund_fee"];
  if (refundRef !== undefined || refundFee !== undefined) {
    const refundedTotal = parseYuan(refundFee);
    if (refundRef === undefined || refundRef === "" || refundedTotal === undefined) {
      return malformed("a refund notification needs out_biz_no and refund_fee");
    }
    const report: RefundStatusReport & { paymentId: string } = {
      paymentId,
      refundRef,
      // Alipay notifies a refund only once it has gone through (gmt_refund).
      status: fields["gmt_refund"] === undefined ? "processing" : "succeeded",
      refundedTotal,
      providerStatus: tradeStatus,
    };
    return ok({ kind: "refund", notificationId, ...(sentAt === undefined ? {} : { sentAt }), report });
  }
  const report: PaymentStatusReport = {
    paymentId,
    status: status.value,
    providerTransactionId: tradeNo,
    amount: total,
    providerStatus: tradeStatus,
    ...(paidAt === undefined ? {} : { paidAt }),
  };
  return ok({ kind: "payment", notificationId, ...(sentAt === undefined ? {} : { sentAt }), report });
}
