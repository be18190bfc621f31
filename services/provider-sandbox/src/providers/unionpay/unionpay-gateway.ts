import { deflateSync } from "node:zlib";
import { assertNever } from "@tributary/result";
import JSZip from "jszip";
import { parseFen } from "../../core/amounts.js";
import type { BillDiscrepancy } from "../../core/bill-discrepancies.js";
import { encodeForm, parseForm } from "../../core/form.js";
import { certIdOf, generateRsaKeyPair, type RsaKeyPair } from "../../core/keys.js";
import type { Route, SandboxRequest, SandboxResponse } from "../../core/http-router.js";
import type { SandboxContext } from "../../core/sandbox-context.js";
import { formatShanghai, shanghaiDayBounds } from "../../core/shanghai-time.js";
import { pendingPayment, type PaymentRecord, type RefundRecord } from "../../core/store.js";
import { signUnionpay, verifyUnionpay } from "./unionpay-signature.js";
import { writeUnionpaySettlementFiles, type UnionpayAdjustment } from "./unionpay-zm-file.js";

/**
 * UnionPay retries a back notification until it gets HTTP 200; the intervals here (0, 1, 2, 4,
 * 8, 16 minutes) follow the commonly described doubling schedule.
 */
export const UNIONPAY_NOTIFY_SCHEDULE_MS: readonly number[] = [0, 1, 2, 4, 8, 16].map((m) => m * 60_000);

/** Options of the UnionPay simulation. */
export interface UnionpayOptions {
  readonly discrepancies: readonly BillDiscrepancy[];
  readonly adjustments?: readonly UnionpayAdjustment[];
}

const RESP_MSG: Record<string, string> = {
  "00": "成功[0000000]",
  "01": "交易失败[1000001]",
  "10": "报文格式错误[6100010]",
  "11": "验证签名失败[6100011]",
  "12": "重复交易[6100012]",
  "13": "报文交易要素缺失[6100013]",
  "32": "无此交易权限[6100032]",
  "33": "交易金额超限[6100033]",
  "34": "查无此交易[6100034]",
  "35": "原交易不存在或状态不正确[6100035]",
  "36": "与原交易信息不符[6100036]",
  "98": "文件不存在[6100098]",
};

/**
 * The UnionPay online (全渠道, ACP 5.1.0) gateway: form POSTs signed with `signMethod=01`
 * (SHA-256 hex of the sorted string, then SHA256withRSA, with `certId`), consume / query /
 * refund / file download, responses signed by the platform key, and back notifications (backUrl)
 * retried until the merchant answers HTTP 200. Sync responses are `k=v&…` text, not URL-encoded,
 * as the ACP SDK expects.
 */
export function unionpayRoutes(ctx: SandboxContext, options: UnionpayOptions): Route[] {
  const keys = ctx.keys.unionpay;
  const prng = ctx.prng("unionpay");
  const faults = ctx.faults("unionpay");

  const signed = (fields: Record<string, string>): Record<string, string> =>
    signUnionpay({ ...fields, signPubKeyCert: keys.platform.publicKeyPem }, keys.platform.privateKeyPem, keys.platformCertId);

  let forger: { readonly pair: RsaKeyPair; readonly certId: string } | undefined;
  const forgedSigned = (fields: Record<string, string>): Record<string, string> => {
    // Made on first use (an RSA key takes a moment) and never stored.
    forger ??= ((pair) => ({ pair, certId: certIdOf(pair) }))(generateRsaKeyPair());
    return signUnionpay({ ...fields, signPubKeyCert: forger.pair.publicKeyPem }, forger.pair.privateKeyPem, forger.certId);
  };

  const respond = (request: Record<string, string>, respCode: string, extra: Record<string, string> = {}): SandboxResponse => {
    const echo: Record<string, string> = {};
    for (const key of ["version", "encoding", "bizType", "txnType", "txnSubType", "accessType", "merId", "orderId", "txnTime", "txnAmt", "currencyCode", "reqReserved"]) {
      const value = request[key];
      if (value !== undefined && value !== "") echo[key] = value;
    }
    const fields = signed({ ...echo, respCode, respMsg: RESP_MSG[respCode] ?? respCode, ...extra });
    // The ACP SDK splits on & and the first =, without URL-decoding.
    const body = Object.entries(fields).map(([k, v]) => `${k}=${v}`).join("&");
    return { status: 200, headers: { "content-type": "text/plain;charset=UTF-8" }, body };
  };

  const validate = (fields: Record<string, string>, required: readonly string[]): SandboxResponse | undefined => {
    if (fields["version"] !== "5.1.0" || fields["encoding"]?.toUpperCase() !== "UTF-8") return respond(fields, "10");
    for (const key of ["merId", "txnType", "signMethod", "certId", "signature", ...required]) {
      if (fields[key] === undefined || fields[key] === "") return respond(fields, "13");
    }
    if (fields["certId"] !== keys.merchantCertId || !verifyUnionpay(fields, keys.merchant.publicKeyPem)) return respond(fields, "11");
    if (fields["merId"] !== keys.merId) return respond(fields, "32");
    if (!/^\d{14}$/.test(fields["txnTime"] ?? "00000000000000")) return respond(fields, "10");
    return undefined;
  };

  const notify = (url: string | undefined, payment: PaymentRecord, fields: Record<string, string>, extraDelayMs: number, event: string): void => {
    if (url === undefined) return;
    const build = (forged: boolean): { body: string; headers: Record<string, string> } => {
      // A forger cannot sign with the platform key, so it substitutes its own: its public key in
      // signPubKeyCert, its certId, its signature. The message verifies against the key it
      // carries; only a merchant that verifies with the platform key it holds rejects it.
      const body = forged ? forgedSigned(fields) : signed(fields);
      return { body: encodeForm(body), headers: { "content-type": "application/x-www-form-urlencoded; charset=UTF-8" } };
    };
    ctx.notifier.dispatch(
      {
        provider: "unionpay",
        event,
        outTradeNo: payment.outTradeNo,
        url,
        build: () => build(false),
        buildForged: () => build(true),
        isAck: (status) => status === 200,
        scheduleMs: ctx.timing.notifyScheduleMs.unionpay ?? UNIONPAY_NOTIFY_SCHEDULE_MS,
      },
      faults.notifyPlan(),
      extraDelayMs,
    );
  };

  const baseFields = (payment: PaymentRecord): Record<string, string> => ({
    version: "5.1.0",
    encoding: "UTF-8",
    accessType: "0",
    bizType: payment.extra["bizType"] ?? "000000",
    merId: keys.merId,
    currencyCode: "156",
  });

  ctx.engine.register("unionpay", {
    onPaid: (payment, extraDelayMs) => {
      if (payment.paidAtMs === undefined) return;
      notify(payment.notifyUrl, payment, {
        ...baseFields(payment),
        txnType: "01",
        txnSubType: payment.extra["txnSubType"] ?? "01",
        orderId: payment.outTradeNo,
        txnTime: payment.extra["txnTime"] ?? "",
        txnAmt: payment.amountMinor.toString(),
        queryId: payment.providerTradeNo,
        traceNo: payment.extra["traceNo"] ?? "",
        traceTime: formatShanghai(payment.paidAtMs, "MMddHHmmss"),
        settleAmt: payment.amountMinor.toString(),
        settleCurrencyCode: "156",
        settleDate: formatShanghai(payment.paidAtMs, "MMdd"),
        accNo: payment.extra["accNo"] ?? "",
        respCode: "00",
        respMsg: RESP_MSG["00"] ?? "",
        ...(payment.attach === undefined ? {} : { reqReserved: payment.attach }),
      }, extraDelayMs, "CONSUME");
    },
    onRefundSucceeded: (payment, refund: RefundRecord) => {
      notify(refund.notifyUrl, payment, {
        ...baseFields(payment),
        txnType: "04",
        txnSubType: "00",
        orderId: refund.outRefundNo,
        txnTime: formatShanghai(refund.createdAtMs, "yyyyMMddHHmmss"),
        txnAmt: refund.amountMinor.toString(),
        origQryId: payment.providerTradeNo,
        queryId: refund.providerRefundNo,
        settleAmt: refund.amountMinor.toString(),
        settleCurrencyCode: "156",
        settleDate: formatShanghai(refund.successAtMs ?? refund.createdAtMs, "MMdd"),
        traceTime: formatShanghai(refund.successAtMs ?? refund.createdAtMs, "MMddHHmmss"),
        respCode: "00",
        respMsg: RESP_MSG["00"] ?? "",
      }, 0, `REFUND:${refund.outRefundNo}`);
    },
  });

  const queryId = (): string => `${formatShanghai(ctx.clock.nowMs(), "MMddHHmmss")}${prng.digits(11)}`;

  const consume = (fields: Record<string, string>): SandboxResponse => {
    const invalid = validate(fields, ["orderId", "txnTime", "txnAmt", "currencyCode", "backUrl", "txnSubType"]);
    if (invalid !== undefined) return invalid;
    const amountMinor = parseFen(fields["txnAmt"]);
    const orderId = fields["orderId"] ?? "";
    if (amountMinor === undefined || !/^[A-Za-z0-9]{8,40}$/.test(orderId) || fields["currencyCode"] !== "156") return respond(fields, "10");
    if (ctx.store.byOutTrade("unionpay", orderId) !== undefined) return respond(fields, "12");
    const subType = fields["txnSubType"] ?? "01";
    const now = ctx.clock.nowMs();
    const payment = pendingPayment({
      provider: "unionpay",
      outTradeNo: orderId,
      providerTradeNo: queryId(),
      amountMinor,
      currency: "CNY",
      subject: fields["orderDesc"] ?? "",
      tradeType: subType === "07" ? "QR" : "CONSUME",
      notifyUrl: fields["backUrl"],
      attach: fields["reqReserved"],
      createdAtMs: now,
      expiresAtMs: now + ctx.timing.orderTtlMs,
      extra: {
        txnTime: fields["txnTime"] ?? "",
        txnSubType: subType,
        bizType: fields["bizType"] ?? "000000",
        traceNo: prng.digits(6),
        accNo: `6216${"*".repeat(11)}${prng.digits(4)}`,
        qrCode: `https://qr.95516.com/00010000/01${prng.digits(20)}`,
      },
    });
    if (subType === "07") {
      ctx.engine.created(payment, { buyerActs: true });
      return respond(fields, "00", { qrCode: payment.extra["qrCode"] ?? "" });
    }
    // A direct (token / card) consume: accepted now, completed at once unless declined.
    ctx.engine.created(payment, { buyerActs: false });
    if (faults.decline()) {
      ctx.engine.close(payment);
      return respond(fields, "01");
    }
    ctx.engine.pay(payment);
    return respond(fields, "00", { queryId: payment.providerTradeNo });
  };

  const refund = (fields: Record<string, string>): SandboxResponse => {
    const invalid = validate(fields, ["orderId", "txnTime", "txnAmt", "origQryId", "backUrl"]);
    if (invalid !== undefined) return invalid;
    const amountMinor = parseFen(fields["txnAmt"]);
    if (amountMinor === undefined) return respond(fields, "10");
    const payment = ctx.store.byProviderTrade("unionpay", fields["origQryId"] ?? "");
    if (payment === undefined || payment.status !== "paid") return respond(fields, "35");
    const orderId = fields["orderId"] ?? "";
    if (ctx.store.refundByOutRefundNo("unionpay", orderId) !== undefined) return respond(fields, "12");
    const result = ctx.engine.refund(
      payment,
      { outRefundNo: orderId, providerRefundNo: queryId(), amountMinor, reason: undefined, notifyUrl: fields["backUrl"] },
      { immediate: false },
    );
    if (!result.ok) {
      switch (result.error.code) {
        case "exceeds_refundable":
          return respond(fields, "33");
        case "invalid_amount":
          return respond(fields, "10");
        case "not_paid":
          return respond(fields, "35");
        default:
          return assertNever(result.error, "refund refusal");
      }
    }
    return respond(fields, "00", { queryId: result.value.providerRefundNo, origQryId: payment.providerTradeNo });
  };

  const back = (request: SandboxRequest): SandboxResponse => {
    const fields = parseForm(request.bodyText);
    switch (fields["txnType"]) {
      case "01":
        return consume(fields);
      case "04":
        return refund(fields);
      // A missing txnType is validated like any other the sandbox does not play.
      case undefined:
      default:
        return validate(fields, []) ?? respond(fields, "10");
    }
  };

  const query = (request: SandboxRequest): SandboxResponse => {
    const fields = parseForm(request.bodyText);
    const invalid = validate(fields, ["orderId", "txnTime"]);
    if (invalid !== undefined) return invalid;
    if (fields["txnType"] !== "00") return respond(fields, "10");
    const orderId = fields["orderId"] ?? "";
    const payment = ctx.store.byOutTrade("unionpay", orderId);
    if (payment !== undefined) {
      const orig = payment.status === "paid" ? "00" : payment.status === "closed" ? "01" : "05";
      return respond(fields, "00", {
        origRespCode: orig,
        origRespMsg: RESP_MSG[orig] ?? "交易已受理",
        queryId: payment.providerTradeNo,
        // Real query answers state the amount with its currency (the request carries neither).
        txnAmt: payment.amountMinor.toString(),
        currencyCode: "156",
        ...(payment.paidAtMs === undefined
          ? {}
          : {
              settleAmt: payment.amountMinor.toString(),
              settleCurrencyCode: "156",
              settleDate: formatShanghai(payment.paidAtMs, "MMdd"),
              traceNo: payment.extra["traceNo"] ?? "",
              traceTime: formatShanghai(payment.paidAtMs, "MMddHHmmss"),
              accNo: payment.extra["accNo"] ?? "",
            }),
      });
    }
    const found = ctx.store.refundByOutRefundNo("unionpay", orderId);
    if (found === undefined) return respond(fields, "34");
    const orig = found.refund.status === "success" ? "00" : "05";
    return respond(fields, "00", {
      origRespCode: orig,
      origRespMsg: RESP_MSG[orig] ?? "交易已受理",
      queryId: found.refund.providerRefundNo,
      origQryId: found.payment.providerTradeNo,
      txnAmt: found.refund.amountMinor.toString(),
      currencyCode: "156",
      ...(found.refund.successAtMs === undefined
        ? {}
        : {
            settleAmt: found.refund.amountMinor.toString(),
            settleCurrencyCode: "156",
            settleDate: formatShanghai(found.refund.successAtMs, "MMdd"),
            traceTime: formatShanghai(found.refund.successAtMs, "MMddHHmmss"),
          }),
    });
  };

  const fileTransfer = async (request: SandboxRequest): Promise<SandboxResponse> => {
    const fields = parseForm(request.bodyText);
    const invalid = validate(fields, ["settleDate", "fileType", "txnTime"]);
    if (invalid !== undefined) return invalid;
    if (fields["txnType"] !== "76" || fields["fileType"] !== "00" || !/^\d{4}$/.test(fields["settleDate"] ?? "")) return respond(fields, "10");
    const day = dayFromMmdd(fields["settleDate"] ?? "", ctx.clock.nowMs());
    const bounds = day === undefined ? undefined : shanghaiDayBounds(day);
    if (day === undefined || bounds === undefined || ctx.clock.nowMs() < bounds.endMs + ctx.timing.billReadyAfterMs) return respond(fields, "98");
    const files = writeUnionpaySettlementFiles({
      day,
      merId: keys.merId,
      payments: ctx.store.list("unionpay"),
      adjustments: options.adjustments ?? [],
      discrepancies: options.discrepancies,
    });
    const zip = new JSZip();
    zip.file(files.zmName, files.zm);
    zip.file(files.zmeName, files.zme);
    const archive = await zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE" });
    return respond(fields, "00", {
      settleDate: fields["settleDate"] ?? "",
      fileType: "00",
      fileName: `${keys.merId}_${day.replaceAll("-", "")}.zip`,
      fileContent: deflateSync(archive).toString("base64"),
    });
  };

  const apiFaults = {
    injector: faults,
    serverError: () => ({ status: 503, headers: { "content-type": "text/html" }, body: "<html><body>503 Service Unavailable</body></html>" }),
  };
  return [
    { method: "POST", pattern: /^\/unionpay\/gateway\/api\/backTransReq\.do$/, handler: back, faults: apiFaults },
    { method: "POST", pattern: /^\/unionpay\/gateway\/api\/queryTrans\.do$/, handler: query, faults: apiFaults },
    { method: "POST", pattern: /^\/unionpay\/gateway\/api\/fileTransfer\.do$/, handler: fileTransfer },
  ];
}

/** The most recent Asia/Shanghai day on or before `nowMs` whose month and day are `mmdd`. */
function dayFromMmdd(mmdd: string, nowMs: number): string | undefined {
  const year = Number(formatShanghai(nowMs, "yyyy"));
  for (const y of [year, year - 1]) {
    const day = `${y}-${mmdd.slice(0, 2)}-${mmdd.slice(2)}`;
    const bounds = shanghaiDayBounds(day);
    if (bounds !== undefined && bounds.startMs <= nowMs) return day;
  }
  return undefined;
}
