import { createHash, createPrivateKey, createPublicKey, createSign, createVerify, type KeyObject } from "node:crypto";
import type { Money } from "@tributary/money";
import { assertNever, err, ok, type Result } from "@tributary/result";
import type {
  CreatedPayment,
  CreatePaymentRequest,
  NotificationAcknowledgement,
  NotificationError,
  PaymentChannel,
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
  checkUnionpayAmount,
  checkUnionpayOrderId,
  parseUnionpayAnswer,
  unionpayAmount,
  unionpayCodeMeaning,
  unionpayCurrencyCode,
  unionpayPaymentReport,
  unionpayPaymentStatus,
  unionpayRefundReport,
  unionpayRefundStatus,
  unionpayRespCodeOutcome,
  unionpayTime,
  type UnionpayFields,
} from "./transformers.js";
import { tracedFetch } from "../traced-fetch.js";

/**
 * UnionPay's string to sign (ACP SDK `coverMap2String` after `filterBlank`): every field except
 * `signature` whose value is not empty, sorted by key (code-unit order, as Java's TreeMap), joined
 * as `k=v&…` with the raw, un-encoded values.
 */
export function unionpaySigningString(fields: UnionpayFields): string {
  return Object.keys(fields)
    .filter((key) => key !== "signature" && fields[key] !== undefined && fields[key] !== "")
    .sort()
    .map((key) => `${key}=${fields[key] ?? ""}`)
    .join("&");
}

/**
 * Signs a request with `signMethod=01` (ACP 5.1.0): SHA-256 of the signing string written as
 * lowercase hex, then SHA256withRSA over that hex text with our merchant key, base64. `certId`
 * names our signing certificate so UnionPay picks the matching public key.
 */
export function signUnionpayFields(fields: UnionpayFields, merchantPrivateKey: KeyObject | string, merchantCertId: string): Record<string, string> {
  const withCert: Record<string, string> = { ...fields, certId: merchantCertId, signMethod: "01" };
  const digestHex = createHash("sha256").update(unionpaySigningString(withCert), "utf8").digest("hex");
  const signature = createSign("RSA-SHA256").update(digestHex, "utf8").sign(merchantPrivateKey, "base64");
  return { ...withCert, signature };
}

/**
 * Verifies a `signMethod=01` message from UnionPay with the platform key WE hold. The message's
 * own `signPubKeyCert` (and any `certId`) is deliberately not used to pick the key: a forger can
 * put any certificate into a message, so trusting it would let anyone sign. (The ACP SDK trusts it
 * after a chain check against UnionPay's root; we pin the key instead, and rotate it in config.)
 * Anything malformed is simply "does not verify".
 */
export function verifyUnionpayFields(fields: UnionpayFields, platformPublicKey: KeyObject | string): boolean {
  const signature = fields["signature"];
  if (signature === undefined || signature === "" || fields["signMethod"] !== "01") return false;
  const digestHex = createHash("sha256").update(unionpaySigningString(fields), "utf8").digest("hex");
  try {
    return createVerify("RSA-SHA256").update(digestHex, "utf8").verify(platformPublicKey, signature, "base64");
  } catch {
    return false;
  }
}

/**
 * Where the adapter keeps the `txnTime` of each order and refund it sends. ACP identifies an order
 * by `orderId` + the `txnTime` of the original request: a query, a refund and a retry of the same
 * request all need it, and the port does not carry it. The adapter records an order here before
 * sending it, so an `orderId` this memory does not know was never sent and is `not_found`. That
 * only holds if the memory outlives the process and is shared by every instance: the service
 * passes one backed by its database; {@link inMemoryUnionpayOrders} is for tests and one-process
 * tools.
 */
export interface UnionpayOrderMemory {
  get(orderId: string): UnionpayOrderRecord | undefined;
  set(orderId: string, record: UnionpayOrderRecord): void;
}

/** What the adapter remembers of one order (a consume) or refund it sent. */
export interface UnionpayOrderRecord {
  readonly txnTime: string;
  /** The consume's `backUrl`, reused for its refunds (the port's refund request has none). */
  readonly backUrl?: string;
  /** For a refund: our payment id, to name it in the refund's notification. */
  readonly paymentId?: string;
}

/** What the UnionPay adapter needs; the sandbox's `providers.unionpay` has these fields. */
export interface UnionpayAdapterConfig {
  readonly backTransUrl: string;
  readonly queryUrl: string;
  readonly merId: string;
  readonly merchantPrivateKeyPem: string;
  readonly merchantCertId: string;
  /** The platform's public key (or certificate) PEM we hold: the only key answers and notifications are verified with. */
  readonly platformPublicKeyPem: string;
  /** When set, a message that names a different `certId` is refused before its signature is checked. */
  readonly platformCertId?: string;
  readonly timeoutMs?: number;
  readonly now?: () => Date;
  /** Required on purpose: whether it is durable decides whether `not_found` is true (see {@link UnionpayOrderMemory}). */
  readonly orders: UnionpayOrderMemory;
}

const ACP_COMMON = { version: "5.1.0", encoding: "UTF-8", accessType: "0", bizType: "000000" } as const;

/** ACP `channelType`: 07 internet (PC), 08 mobile. */
function channelType(channel: PaymentChannel): string {
  switch (channel) {
    case "web":
      return "07";
    case "app":
    case "mini_program":
      return "08";
    default:
      return assertNever(channel, "payment channel");
  }
}

/** How a call to UnionPay ended at the HTTP level. */
type Transport = Result<UnionpayFields, ProviderCallError>;

/**
 * Posts a signed form and reads the signed answer. Errors are classified where they are made:
 * no answer at all follows the port's one rule (`transportFailure`: never connected is
 * `unreachable`, anything later `outcome_unknown`); any non-200 answer is `outcome_unknown`
 * (UnionPay may have acted on the request before failing).
 */
async function postForm(url: string, fields: UnionpayFields, timeoutMs: number, platformKey: KeyObject, platformCertId: string | undefined): Promise<Transport> {
  let response: Response;
  let text: string;
  try {
    const target = new URL(url);
    response = await tracedFetch({ provider: "unionpay", operation: target.pathname }, target, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded; charset=UTF-8" },
      body: new URLSearchParams(Object.entries(fields)).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    return err(transportFailure(error));
  }
  if (response.status !== 200) {
    return err({ code: "outcome_unknown", message: `UnionPay answered HTTP ${response.status}`, retryable: true });
  }
  const answer = parseUnionpayAnswer(text);
  if (platformCertId !== undefined && answer["certId"] !== undefined && answer["certId"] !== platformCertId) {
    return err({ code: "bad_response_signature", message: `UnionPay's answer names certId ${answer["certId"]}, we hold ${platformCertId}`, retryable: false });
  }
  if (!verifyUnionpayFields(answer, platformKey)) {
    return err({ code: "bad_response_signature", message: "UnionPay's answer does not verify with the platform key we hold", retryable: false });
  }
  return ok(answer);
}

/**
 * A {@link UnionpayOrderMemory} in this process's memory, for tests and one-process tools; shared by
 * several adapters of one process it plays what the service's database does for its instances.
 * It forgets everything on restart, after which those orders would look `not_found`.
 */
export function inMemoryUnionpayOrders(): UnionpayOrderMemory {
  const records = new Map<string, UnionpayOrderRecord>();
  return {
    get: (orderId) => records.get(orderId),
    set: (orderId, record) => {
      records.set(orderId, record);
    },
  };
}

/** ACP `orderId`: 8–40 letters and digits. Our ids are checked before anything is sent. */
const ORDER_ID = /^[A-Za-z0-9]{8,40}$/;

function rejectedLocally(providerCode: string, message: string): ProviderCallError {
  return { code: "rejected", providerCode, message, buyerSide: false, retryable: false };
}

/**
 * The UnionPay online payment (全渠道, ACP 5.1.0, `signMethod=01`) adapter: QR consume
 * (`txnType=01`, `txnSubType=07`), query (`txnType=00`), refund (`txnType=04`) and back
 * notifications, every answer verified with the platform key we hold and checked against the
 * request's order id, amount and currency.
 */
export function createUnionpayAdapter(config: UnionpayAdapterConfig): ProviderAdapter {
  // Parsed once: parsing a PEM costs several times one RSA operation.
  const platformKey = createPublicKey(config.platformPublicKeyPem);
  const merchantKey = createPrivateKey(config.merchantPrivateKeyPem);
  const timeoutMs = config.timeoutMs ?? 10_000;
  const now = config.now ?? ((): Date => new Date());
  const orders = config.orders;

  const call = (url: string, fields: Record<string, string>): Promise<Transport> =>
    postForm(url, signUnionpayFields({ ...ACP_COMMON, merId: config.merId, ...fields }, merchantKey, config.merchantCertId), timeoutMs, platformKey, config.platformCertId);

  const merIdCheck = (fields: UnionpayFields): Result<void, ProviderCallError> =>
    fields["merId"] === config.merId ? ok(undefined) : err({ code: "integrity_mismatch", field: "merId", message: `UnionPay answered for merId ${fields["merId"] ?? "(none)"}`, retryable: false });

  const query = async (orderId: string): Promise<Transport> => {
    const record = orders.get(orderId);
    if (record === undefined) {
      // Every order is recorded before it is sent, so one the memory does not know was never sent.
      return err({ code: "not_found", message: `no UnionPay order ${orderId} was sent (the order memory does not know it)`, retryable: false });
    }
    const answer = await call(config.queryUrl, { txnType: "00", txnSubType: "00", orderId, txnTime: record.txnTime });
    if (!answer.ok) return answer;
    const merId = merIdCheck(answer.value);
    if (!merId.ok) return merId;
    const outcome = unionpayRespCodeOutcome(answer.value);
    if (!outcome.ok) return outcome;
    if (outcome.value === "in_progress") return err({ code: "outcome_unknown", message: `UnionPay could not answer the query yet (respCode ${answer.value["respCode"] ?? ""})`, retryable: true });
    return answer;
  };

  const queryPayment = async (paymentId: string, expected: Money): Promise<Result<PaymentStatusReport, ProviderCallError>> => {
    const answer = await query(paymentId);
    return answer.ok ? unionpayPaymentReport(answer.value, paymentId, expected) : answer;
  };

  return {
    provider: "unionpay",

    async createPayment(request: CreatePaymentRequest): Promise<Result<CreatedPayment, ProviderCallError>> {
      if (!ORDER_ID.test(request.paymentId)) return err(rejectedLocally("invalid_order_id", `UnionPay orderId must be 8-40 letters and digits: ${request.paymentId}`));
      const currencyCode = unionpayCurrencyCode(request.amount.currency);
      if (currencyCode === undefined) return err(rejectedLocally("unsupported_currency", `no UnionPay currencyCode for ${request.amount.currency}`));
      if (request.amount.amountMinor <= 0n) return err(rejectedLocally("invalid_amount", "UnionPay txnAmt must be positive"));
      // A retry of the same payment reuses the first attempt's txnTime, so UnionPay sees the same order.
      const record = orders.get(request.paymentId) ?? { txnTime: unionpayTime(now()), backUrl: request.notifyUrl };
      orders.set(request.paymentId, record);
      const answer = await call(config.backTransUrl, {
        txnType: "01",
        txnSubType: "07",
        channelType: channelType(request.channel),
        orderId: request.paymentId,
        txnTime: record.txnTime,
        txnAmt: request.amount.amountMinor.toString(),
        currencyCode,
        backUrl: request.notifyUrl,
        payTimeout: unionpayTime(request.expiresAt),
        orderDesc: request.description,
      });
      if (!answer.ok) return answer;
      const merId = merIdCheck(answer.value);
      if (!merId.ok) return merId;
      const outcome = unionpayRespCodeOutcome(answer.value);
      if (!outcome.ok) return outcome;
      if (outcome.value === "in_progress") return err({ code: "outcome_unknown", message: `UnionPay accepted the order without a QR code yet (respCode ${answer.value["respCode"] ?? ""})`, retryable: true });
      const orderCheck = checkUnionpayOrderId(answer.value, request.paymentId);
      if (!orderCheck.ok) return orderCheck;
      const amount = checkUnionpayAmount(answer.value, request.amount);
      if (!amount.ok) return amount;
      const qrCode = answer.value["qrCode"];
      if (qrCode === undefined || qrCode === "") return err({ code: "integrity_mismatch", field: "qrCode", message: "UnionPay accepted the QR consume but sent no qrCode", retryable: false });
      return ok({ paymentId: request.paymentId, buyerAction: { kind: "qr_code", url: qrCode } });
    },

    queryPayment,

    async closePayment(paymentId: string): Promise<Result<void, ProviderCallError>> {
      // ACP has no close for an unpaid QR consume: it stops at the payTimeout we sent. So close
      // reports the truth: done when the order already ended unpaid, refused while it is open.
      const answer = await query(paymentId);
      if (!answer.ok) return answer;
      const orig = answer.value["origRespCode"] ?? "";
      const status = unionpayPaymentStatus(orig);
      if (!status.ok) return status;
      switch (status.value) {
        case "failed":
        case "closed":
          return ok(undefined);
        case "pending":
          return err(rejectedLocally("close_not_supported", "UnionPay cannot close an open QR consume; it expires at its payTimeout"));
        case "captured":
        case "refunded":
        case "partially_refunded":
          return err(rejectedLocally("already_paid", `UnionPay order ${paymentId} is already paid`));
        default:
          return assertNever(status.value, "payment status");
      }
    },

    async refund(request: RefundRequest): Promise<Result<RefundStatusReport, ProviderCallError>> {
      if (!ORDER_ID.test(request.refundRef)) return err(rejectedLocally("invalid_order_id", `UnionPay orderId must be 8-40 letters and digits: ${request.refundRef}`));
      const currencyCode = unionpayCurrencyCode(request.amount.currency);
      if (currencyCode === undefined) return err(rejectedLocally("unsupported_currency", `no UnionPay currencyCode for ${request.amount.currency}`));
      // A UnionPay refund names the consume by its queryId, which only a query gives us.
      const payment = await queryPayment(request.paymentId, request.paymentAmount);
      if (!payment.ok) return payment;
      if (payment.value.status !== "captured" || payment.value.providerTransactionId === undefined) {
        return err(rejectedLocally("not_refundable", `UnionPay order ${request.paymentId} is ${payment.value.status}`));
      }
      // ACP needs a backUrl on every refund: the refund's own, else the one its consume was sent with.
      const backUrl = request.notifyUrl ?? orders.get(request.paymentId)?.backUrl;
      if (backUrl === undefined) return err(rejectedLocally("no_back_url", `no backUrl known for UnionPay order ${request.paymentId}`));
      const record = orders.get(request.refundRef) ?? { txnTime: unionpayTime(now()), paymentId: request.paymentId };
      orders.set(request.refundRef, record);
      const answer = await call(config.backTransUrl, {
        txnType: "04",
        txnSubType: "00",
        channelType: "07",
        orderId: request.refundRef,
        origQryId: payment.value.providerTransactionId,
        txnTime: record.txnTime,
        txnAmt: request.amount.amountMinor.toString(),
        currencyCode,
        backUrl,
        // Echoed in the refund's notification, whose orderId is the refund's, not the payment's.
        reqReserved: request.paymentId,
      });
      if (!answer.ok) return answer;
      const merId = merIdCheck(answer.value);
      if (!merId.ok) return merId;
      const outcome = unionpayRespCodeOutcome(answer.value);
      if (!outcome.ok) return outcome;
      const orderCheck = checkUnionpayOrderId(answer.value, request.refundRef);
      if (!orderCheck.ok) return orderCheck;
      const amount = checkUnionpayAmount(answer.value, request.amount);
      if (!amount.ok) return amount;
      const queryId = answer.value["queryId"];
      // respCode 00 on a refund means "accepted": the result comes by notification or query.
      return ok({
        refundRef: request.refundRef,
        status: "processing",
        amount: amount.value,
        providerStatus: `respCode=${answer.value["respCode"] ?? ""}`,
        ...(queryId === undefined || queryId === "" ? {} : { providerRefundId: queryId }),
      });
    },

    async queryRefund(request: RefundRequest): Promise<Result<RefundStatusReport, ProviderCallError>> {
      const answer = await query(request.refundRef);
      return answer.ok ? unionpayRefundReport(answer.value, request.refundRef, request.amount) : answer;
    },

    verifyNotification(notification: RawNotification): Result<VerifiedNotification, NotificationError> {
      const fields: Record<string, string> = {};
      for (const [key, value] of new URLSearchParams(notification.body.toString("utf8"))) fields[key] = value;
      if (config.platformCertId !== undefined && fields["certId"] !== undefined && fields["certId"] !== config.platformCertId) {
        return err({ code: "bad_signature", message: `notification names certId ${fields["certId"]}, we hold ${config.platformCertId}` });
      }
      if (!verifyUnionpayFields(fields, platformKey)) return err({ code: "bad_signature", message: "notification does not verify with the UnionPay platform key we hold" });
      return decodeUnionpayNotification(fields, config.merId, orders);
    },

    acknowledgement(accepted: boolean): NotificationAcknowledgement {
      // UnionPay retries a back notification until it gets HTTP 200.
      return accepted
        ? { status: 200, headers: { "content-type": "text/plain" }, body: "ok" }
        : { status: 400, headers: { "content-type": "text/plain" }, body: "fail" };
    },
  };
}

/**
 * Decodes a verified back notification: a consume (`txnType=01`) becomes a payment report, a
 * refund (`txnType=04`) a refund report. Its amount must be there; the id the webhook layer dedupes
 * on is the transaction's `queryId` with its type.
 */
export function decodeUnionpayNotification(fields: UnionpayFields, merId: string, orders: UnionpayOrderMemory): Result<VerifiedNotification, NotificationError> {
  const malformed = (message: string): Result<VerifiedNotification, NotificationError> => err({ code: "malformed", message });
  if (fields["merId"] !== merId) return malformed(`notification is for merId ${fields["merId"] ?? "(none)"}, not ours`);
  const txnType = fields["txnType"] ?? "";
  const orderId = fields["orderId"] ?? "";
  const queryId = fields["queryId"] ?? "";
  const respCode = fields["respCode"] ?? "";
  if (orderId === "" || queryId === "" || respCode === "") return malformed("notification lacks orderId, queryId or respCode");
  const amount = unionpayAmount(fields);
  if (!amount.ok) return malformed(amount.error.message);
  if (unionpayCodeMeaning(respCode) === undefined) {
    return err({ code: "unknown_provider_status", providerStatus: `respCode=${respCode}`, message: `UnionPay respCode ${JSON.stringify(respCode)} is not in our table` });
  }
  const notificationId = `unionpay:${txnType}:${queryId}`;
  switch (txnType) {
    case "01": {
      const status = unionpayPaymentStatus(respCode);
      if (!status.ok) return err({ code: "unknown_provider_status", providerStatus: `respCode=${respCode}`, message: status.error.message });
      return ok({
        kind: "payment",
        notificationId,
        report: { paymentId: orderId, status: status.value, amount: amount.value, providerTransactionId: queryId, providerStatus: `respCode=${respCode}` },
      });
    }
    case "04": {
      const status = unionpayRefundStatus(respCode);
      if (!status.ok) return err({ code: "unknown_provider_status", providerStatus: `respCode=${respCode}`, message: status.error.message });
      const paymentId = fields["reqReserved"] ?? orders.get(orderId)?.paymentId;
      if (paymentId === undefined || paymentId === "") return malformed(`refund notification ${orderId} names no payment (no reqReserved, refund not sent by this adapter)`);
      return ok({
        kind: "refund",
        notificationId,
        report: { paymentId, refundRef: orderId, status: status.value, amount: amount.value, providerRefundId: queryId, providerStatus: `respCode=${respCode}` },
      });
    }
    default:
      return err({ code: "unknown_provider_status", providerStatus: `txnType=${txnType}`, message: `UnionPay notification of txnType ${JSON.stringify(txnType)} is not one this adapter handles` });
  }
}
