import { isCurrencyCode, money, parseDecimalScaled, type CurrencyCode, type Money } from "@tributary/money";
import { assertNever, err, ok, type Result } from "@tributary/result";
import type {
  PaymentStatusReport,
  ProviderCallError,
  ProviderPaymentStatus,
  ProviderRefundStatus,
  RefundStatusReport,
} from "../provider-adapter.js";

/**
 * UnionPay's own message: a flat map of ACP field names to text, exactly as it is signed. Sync
 * answers arrive as raw `k=v&…` text and back notifications as URL-encoded form posts; both
 * become this map before anything reads a field.
 */
export type UnionpayFields = Readonly<Record<string, string>>;

/**
 * What one ACP `respCode` (the answer to our request) or `origRespCode` (the state of the
 * original transaction in a query answer) means. ACP groups its codes: 00/A6 success, 01–09 the
 * platform's own errors of which 03/04/05 mean "not known yet, query", 10–39 the merchant's
 * request, 60–79 the cardholder or card, 98 a missing file.
 */
export type UnionpayCodeMeaning =
  /** 00: done (for a QR consume: the order was accepted and a code issued). */
  | "success"
  /** A6 "有缺陷的成功": the transaction succeeded with a defect; ACP treats it as success. */
  | "success_with_defect"
  /** 03 timeout, 04 state unknown, 05 accepted and in progress: query later. */
  | "in_progress"
  /** 12: an order with this orderId already exists, so the earlier attempt may have taken effect. */
  | "duplicate"
  /** 34: UnionPay has no such transaction. */
  | "not_found"
  /** A definite refusal caused by the platform or by our request: nothing was created. */
  | "refused"
  /** A definite refusal on the cardholder's or card's side. */
  | "refused_buyer";

/**
 * Every ACP code this adapter knows, each on its own line: a code not listed here is not guessed
 * but becomes `unknown_provider_status` for review (STYLE.md: no catch-all status mapping).
 */
export const UNIONPAY_CODES: Readonly<Record<string, { readonly meaning: UnionpayCodeMeaning; readonly text: string }>> = {
  "00": { meaning: "success", text: "成功" },
  A6: { meaning: "success_with_defect", text: "有缺陷的成功" },
  "01": { meaning: "refused", text: "交易失败" },
  "02": { meaning: "refused", text: "系统未开放或暂时关闭" },
  "03": { meaning: "in_progress", text: "交易通讯超时，请发起查询交易" },
  "04": { meaning: "in_progress", text: "交易状态未明，请查询对账结果" },
  "05": { meaning: "in_progress", text: "交易已受理，请稍后查询交易结果" },
  "06": { meaning: "refused", text: "系统繁忙，请稍后再试" },
  "10": { meaning: "refused", text: "报文格式错误" },
  "11": { meaning: "refused", text: "验证签名失败" },
  "12": { meaning: "duplicate", text: "重复交易" },
  "13": { meaning: "refused", text: "报文交易要素缺失" },
  "14": { meaning: "refused", text: "批量文件格式错误" },
  "30": { meaning: "refused", text: "交易未通过，请尝试使用其他银联卡支付或联系95516" },
  "31": { meaning: "refused", text: "商户状态不正确" },
  "32": { meaning: "refused", text: "无此交易权限" },
  "33": { meaning: "refused", text: "交易金额超限" },
  "34": { meaning: "not_found", text: "查无此交易" },
  "35": { meaning: "refused", text: "原交易不存在或状态不正确" },
  "36": { meaning: "refused", text: "与原交易信息不符" },
  "37": { meaning: "refused", text: "已超过最大查询次数或操作过于频繁" },
  "38": { meaning: "refused", text: "银联风险受限" },
  "39": { meaning: "refused", text: "交易不在受理时间范围内" },
  "60": { meaning: "refused_buyer", text: "交易失败，详情请咨询您的发卡行" },
  "61": { meaning: "refused_buyer", text: "输入的卡号无效" },
  "62": { meaning: "refused_buyer", text: "交易失败，发卡银行不支持该商户" },
  "63": { meaning: "refused_buyer", text: "卡状态不正确" },
  "64": { meaning: "refused_buyer", text: "卡上的余额不足" },
  "65": { meaning: "refused_buyer", text: "输入的密码、有效期或CVN2有误" },
  "66": { meaning: "refused_buyer", text: "持卡人身份信息或手机号输入不正确" },
  "67": { meaning: "refused_buyer", text: "密码输入次数超限" },
  "68": { meaning: "refused_buyer", text: "您的银行卡暂不支持该业务" },
  "69": { meaning: "refused_buyer", text: "您的输入超时" },
  "70": { meaning: "refused_buyer", text: "交易已跳转，等待持卡人输入" },
  "71": { meaning: "refused_buyer", text: "动态口令或短信验证码校验失败" },
  "72": { meaning: "refused_buyer", text: "您尚未在发卡银行网点柜面或个人网银签约加办银联无卡支付业务" },
  "73": { meaning: "refused_buyer", text: "支付卡已超过有效期" },
  "74": { meaning: "refused_buyer", text: "扣款成功但交易超过规定支付时间" },
  "75": { meaning: "refused_buyer", text: "无效的交易" },
  "77": { meaning: "refused_buyer", text: "银行卡未开通认证支付" },
  "78": { meaning: "refused_buyer", text: "发卡行交易权限受限" },
  "79": { meaning: "refused_buyer", text: "此卡可用，但发卡行暂不支持短信验证" },
  "98": { meaning: "refused", text: "文件不存在" },
};

/** The meaning of an ACP code, or `undefined` for one this adapter does not know. */
export function unionpayCodeMeaning(code: string): UnionpayCodeMeaning | undefined {
  return Object.hasOwn(UNIONPAY_CODES, code) ? UNIONPAY_CODES[code]?.meaning : undefined;
}

/**
 * ISO 4217 numeric codes (ACP `currencyCode`) of the currencies our money table knows. UnionPay
 * writes 156 for CNY; the others appear on cross-border merchants.
 */
const NUMERIC_CURRENCIES: Readonly<Record<string, CurrencyCode>> = {
  "156": "CNY",
  "344": "HKD",
  "446": "MOP",
  "840": "USD",
  "978": "EUR",
  "826": "GBP",
  "392": "JPY",
  "702": "SGD",
};

/** The ACP `currencyCode` of one of our currencies, or `undefined` when UnionPay has none listed here. */
export function unionpayCurrencyCode(currency: CurrencyCode): string | undefined {
  return Object.keys(NUMERIC_CURRENCIES).find((code) => NUMERIC_CURRENCIES[code] === currency);
}

function integrity(field: string, message: string): ProviderCallError {
  return { code: "integrity_mismatch", field, message, retryable: false };
}

/**
 * Reads the amount of a UnionPay message: `txnAmt` in fen (digits only, no sign, no point) and
 * `currencyCode` (ISO numeric). Either one missing or unreadable is an integrity failure: a check
 * never passes because the data is absent.
 */
export function unionpayAmount(fields: UnionpayFields): Result<Money, ProviderCallError> {
  const amountText = fields["txnAmt"];
  const currencyText = fields["currencyCode"];
  if (amountText === undefined || amountText === "") return err(integrity("txnAmt", "UnionPay's answer carries no txnAmt"));
  if (currencyText === undefined || currencyText === "") return err(integrity("currencyCode", "UnionPay's answer carries no currencyCode"));
  if (!/^[0-9]{1,19}$/.test(amountText)) return err(integrity("txnAmt", `txnAmt is not an integer of fen: ${JSON.stringify(amountText)}`));
  const currency = NUMERIC_CURRENCIES[currencyText];
  if (currency === undefined || !isCurrencyCode(currency)) return err(integrity("currencyCode", `unknown currencyCode ${JSON.stringify(currencyText)}`));
  const amountMinor = parseDecimalScaled(amountText, 0);
  if (!amountMinor.ok) return err(integrity("txnAmt", `txnAmt out of range: ${amountText}`));
  return ok(money(amountMinor.value, currency));
}

/**
 * Checks that a UnionPay answer is about the money we asked for: same amount, same currency.
 * A missing field fails (see {@link unionpayAmount}).
 */
export function checkUnionpayAmount(fields: UnionpayFields, expected: Money): Result<Money, ProviderCallError> {
  const actual = unionpayAmount(fields);
  if (!actual.ok) return actual;
  if (actual.value.currency !== expected.currency) {
    return err(integrity("currencyCode", `UnionPay answered in ${actual.value.currency}, we asked for ${expected.currency}`));
  }
  if (actual.value.amountMinor !== expected.amountMinor) {
    return err(integrity("txnAmt", `UnionPay answered ${actual.value.amountMinor} minor units, we asked for ${expected.amountMinor}`));
  }
  return ok(actual.value);
}

/** Checks that an answer names the order (or refund) we asked about; a missing `orderId` fails. */
export function checkUnionpayOrderId(fields: UnionpayFields, orderId: string): Result<void, ProviderCallError> {
  const actual = fields["orderId"];
  if (actual === undefined || actual === "") return err(integrity("orderId", "UnionPay's answer carries no orderId"));
  return actual === orderId ? ok(undefined) : err(integrity("orderId", `UnionPay answered about ${actual}, we asked about ${orderId}`));
}

function unknownStatus(field: string, code: string): ProviderCallError {
  return { code: "unknown_provider_status", providerStatus: `${field}=${code}`, message: `UnionPay ${field} ${JSON.stringify(code)} is not in our table: review it`, retryable: false };
}

/**
 * Turns the `respCode` of a sync answer into "go on" or the error the caller gets. A duplicate
 * (12) may be our own earlier attempt that took effect, so it is `outcome_unknown` (query first),
 * never `rejected`; 34 is `not_found`.
 */
export function unionpayRespCodeOutcome(fields: UnionpayFields): Result<"success" | "in_progress", ProviderCallError> {
  const code = fields["respCode"];
  if (code === undefined || code === "") return err(integrity("respCode", "UnionPay's answer carries no respCode"));
  const meaning = unionpayCodeMeaning(code);
  const message = `UnionPay respCode ${code}: ${fields["respMsg"] ?? UNIONPAY_CODES[code]?.text ?? ""}`;
  if (meaning === undefined) return err(unknownStatus("respCode", code));
  switch (meaning) {
    case "success":
    case "success_with_defect":
      return ok("success");
    case "in_progress":
      return ok("in_progress");
    case "duplicate":
      return err({ code: "outcome_unknown", message: `${message}: an earlier request with this orderId exists, query it`, retryable: true });
    case "not_found":
      return err({ code: "not_found", message, retryable: false });
    case "refused":
      return err({ code: "rejected", providerCode: code, message, buyerSide: false, retryable: false });
    case "refused_buyer":
      return err({ code: "rejected", providerCode: code, message, buyerSide: true, retryable: false });
    default:
      return assertNever(meaning, "UnionPay code meaning");
  }
}

/** Our payment status for the `origRespCode` of a query answer about a consume (txnType 01). */
export function unionpayPaymentStatus(origRespCode: string): Result<ProviderPaymentStatus, ProviderCallError> {
  const meaning = unionpayCodeMeaning(origRespCode);
  if (meaning === undefined) return err(unknownStatus("origRespCode", origRespCode));
  switch (meaning) {
    case "success":
    case "success_with_defect":
      return ok("captured");
    case "in_progress":
      return ok("pending");
    // The original consume ended without money moving (declined, expired, closed).
    case "refused":
    case "refused_buyer":
      return ok("failed");
    // Neither describes an original transaction's state: review rather than guess.
    case "duplicate":
    case "not_found":
      return err(unknownStatus("origRespCode", origRespCode));
    default:
      return assertNever(meaning, "UnionPay code meaning");
  }
}

/** Our refund status for the `origRespCode` of a query answer about a refund (txnType 04). */
export function unionpayRefundStatus(origRespCode: string): Result<ProviderRefundStatus, ProviderCallError> {
  const meaning = unionpayCodeMeaning(origRespCode);
  if (meaning === undefined) return err(unknownStatus("origRespCode", origRespCode));
  switch (meaning) {
    case "success":
    case "success_with_defect":
      return ok("succeeded");
    case "in_progress":
      return ok("processing");
    case "refused":
    case "refused_buyer":
      return ok("failed");
    case "duplicate":
    case "not_found":
      return err(unknownStatus("origRespCode", origRespCode));
    default:
      return assertNever(meaning, "UnionPay code meaning");
  }
}

/**
 * The payment report of a query answer (`queryTrans.do`, txnType 00) about our consume: its
 * status, UnionPay's `queryId`, and the amount, checked against what we expect.
 */
export function unionpayPaymentReport(fields: UnionpayFields, paymentId: string, expected: Money): Result<PaymentStatusReport, ProviderCallError> {
  const orderCheck = checkUnionpayOrderId(fields, paymentId);
  if (!orderCheck.ok) return orderCheck;
  const orig = fields["origRespCode"];
  if (orig === undefined || orig === "") return err(integrity("origRespCode", "UnionPay's query answer carries no origRespCode"));
  const status = unionpayPaymentStatus(orig);
  if (!status.ok) return status;
  const amount = checkUnionpayAmount(fields, expected);
  if (!amount.ok) return amount;
  const queryId = fields["queryId"];
  if (status.value === "captured" && (queryId === undefined || queryId === "")) {
    return err(integrity("queryId", "a captured UnionPay consume must carry its queryId"));
  }
  return ok({
    paymentId,
    status: status.value,
    amount: amount.value,
    providerStatus: `origRespCode=${orig}`,
    ...(queryId === undefined || queryId === "" ? {} : { providerTransactionId: queryId }),
  });
}

/** The refund report of a query answer about our refund (its `orderId` is our refund reference). */
export function unionpayRefundReport(fields: UnionpayFields, refundRef: string, expected: Money): Result<RefundStatusReport, ProviderCallError> {
  const orderCheck = checkUnionpayOrderId(fields, refundRef);
  if (!orderCheck.ok) return orderCheck;
  const orig = fields["origRespCode"];
  if (orig === undefined || orig === "") return err(integrity("origRespCode", "UnionPay's query answer carries no origRespCode"));
  const status = unionpayRefundStatus(orig);
  if (!status.ok) return status;
  const amount = checkUnionpayAmount(fields, expected);
  if (!amount.ok) return amount;
  const queryId = fields["queryId"];
  return ok({
    refundRef,
    status: status.value,
    amount: amount.value,
    providerStatus: `origRespCode=${orig}`,
    ...(queryId === undefined || queryId === "" ? {} : { providerRefundId: queryId }),
  });
}

/**
 * Parses a sync answer: raw `k=v&…` text, split on `&` and on the first `=` of each pair without
 * URL-decoding, as the ACP SDK does (values such as `signPubKeyCert` hold `=` and newlines).
 */
export function parseUnionpayAnswer(text: string): UnionpayFields {
  const fields: Record<string, string> = {};
  for (const pair of text.trim().split("&")) {
    if (pair === "") continue;
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    fields[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return fields;
}

/**
 * `txnTime` / `payTimeout` as ACP wants them: `yyyyMMddHHmmss` in Beijing time (UTC+8, no daylight
 * saving since 1991, so a fixed offset is exact).
 */
export function unionpayTime(at: Date): string {
  const shifted = new Date(at.getTime() + 8 * 3_600_000);
  const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
  return `${pad(shifted.getUTCFullYear(), 4)}${pad(shifted.getUTCMonth() + 1)}${pad(shifted.getUTCDate())}${pad(shifted.getUTCHours())}${pad(shifted.getUTCMinutes())}${pad(shifted.getUTCSeconds())}`;
}
