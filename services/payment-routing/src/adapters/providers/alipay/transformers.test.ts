import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  alipaySigningString,
  checkAmount,
  decodeAlipayNotification,
  mapRefundStatus,
  mapTradeStatus,
  rsa2Sign,
  rsa2Verify,
  shanghaiTimestamp,
  topLevelRawValues,
  tradeQueryReport,
  verifyAlipayResponse,
} from "./transformers.js";

function rsaPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

const alipayKey = rsaPair();
const otherKey = rsaPair();
const CNY = (amountMinor: bigint) => ({ amountMinor, currency: "CNY" as const });

describe("Alipay signing string", () => {
  it("drops sign and empty values, sorts by ASCII key, joins raw k=v with &", () => {
    const params = {
      sign: "xxx",
      timestamp: "2026-12-01 09:00:00",
      app_id: "2021000000000001",
      biz_content: '{"out_trade_no":"P1","total_amount":"12.34","subject":"书 & 笔"}',
      notify_url: "",
      method: "alipay.trade.precreate",
      Zeta: "upper case sorts first",
      charset: "utf-8",
    };
    expect(alipaySigningString(params, ["sign"])).toBe(
      "Zeta=upper case sorts first&app_id=2021000000000001" +
        '&biz_content={"out_trade_no":"P1","total_amount":"12.34","subject":"书 & 笔"}' +
        "&charset=utf-8&method=alipay.trade.precreate&timestamp=2026-12-01 09:00:00",
    );
  });

  it("for notifications also drops sign_type", () => {
    expect(alipaySigningString({ sign: "s", sign_type: "RSA2", b: "2", a: "1" }, ["sign", "sign_type"])).toBe("a=1&b=2");
  });

  it("RSA2 verifies with the right key only, and one changed character fails", () => {
    const sign = rsa2Sign("a=1&b=2", alipayKey.privateKeyPem);
    expect(rsa2Verify("a=1&b=2", sign, alipayKey.publicKeyPem)).toBe(true);
    expect(rsa2Verify("a=1&b=3", sign, alipayKey.publicKeyPem)).toBe(false);
    expect(rsa2Verify("a=1&b=2", sign, otherKey.publicKeyPem)).toBe(false);
    expect(rsa2Verify("a=1&b=2", "not base64!", alipayKey.publicKeyPem)).toBe(false);
  });

  it("writes the timestamp in Asia/Shanghai", () => {
    expect(shanghaiTimestamp(new Date("2026-11-30T16:00:01Z"))).toBe("2026-12-01 00:00:01");
  });
});

describe("Alipay signed response", () => {
  const inner = '{"code":"10000","msg":"Success","out_trade_no":"P1","qr_code":"https:\\/\\/qr.alipay.com\\/x"}';
  const body = (raw: string, sign: string) => `{"alipay_trade_precreate_response":${raw},"sign":"${sign}"}`;

  it("splits the top level into raw value texts, escapes untouched", () => {
    const values = topLevelRawValues(`{ "a" : {"x":"}\\"{"} , "b":[1,{"c":2}], "sign":"s" }`);
    expect(values?.get("a")).toBe('{"x":"}\\"{"}');
    expect(values?.get("b")).toBe('[1,{"c":2}]');
    expect(values?.get("sign")).toBe('"s"');
    expect(topLevelRawValues('{"a":1')).toBeUndefined();
  });

  it("verifies sign over the raw <method>_response text (an escaped slash stays escaped)", () => {
    const result = verifyAlipayResponse("alipay.trade.precreate", body(inner, rsa2Sign(inner, alipayKey.privateKeyPem)), alipayKey.publicKeyPem);
    expect(result.ok && result.value["qr_code"]).toBe("https://qr.alipay.com/x");
  });

  it("fails a re-encoded, tampered, foreign-signed or unsigned answer", () => {
    const reencoded = JSON.stringify(JSON.parse(inner));
    const signedReencoded = rsa2Sign(reencoded, alipayKey.privateKeyPem);
    expect(verifyAlipayResponse("alipay.trade.precreate", body(inner, signedReencoded), alipayKey.publicKeyPem)).toMatchObject({ ok: false, error: { code: "bad_response_signature" } });
    const sign = rsa2Sign(inner, alipayKey.privateKeyPem);
    const tampered = inner.replace("P1", "P2");
    expect(verifyAlipayResponse("alipay.trade.precreate", body(tampered, sign), alipayKey.publicKeyPem)).toMatchObject({ ok: false, error: { code: "bad_response_signature" } });
    expect(verifyAlipayResponse("alipay.trade.precreate", body(inner, rsa2Sign(inner, otherKey.privateKeyPem)), alipayKey.publicKeyPem)).toMatchObject({ ok: false, error: { code: "bad_response_signature" } });
    expect(verifyAlipayResponse("alipay.trade.precreate", `{"alipay_trade_precreate_response":${inner}}`, alipayKey.publicKeyPem)).toMatchObject({ ok: false, error: { code: "bad_response_signature" } });
  });
});

describe("Alipay signed but unreadable response", () => {
  it("is outcome_unknown, not a crash", () => {
    const broken = '{"code":"10000",}';
    const body = `{"alipay_trade_query_response":${broken},"sign":"${rsa2Sign(broken, alipayKey.privateKeyPem)}"}`;
    expect(verifyAlipayResponse("alipay.trade.query", body, alipayKey.publicKeyPem)).toMatchObject({ ok: false, error: { code: "outcome_unknown" } });
  });
});

describe("Alipay trade_status mapping", () => {
  it.each([
    ["WAIT_BUYER_PAY", false, "pending"],
    ["TRADE_SUCCESS", true, "captured"],
    ["TRADE_FINISHED", true, "captured"],
    ["TRADE_CLOSED", false, "closed"],
    ["TRADE_CLOSED", true, "refunded"],
  ] as const)("%s (paid %s) → %s", (status, paid, expected) => {
    expect(mapTradeStatus(status, paid)).toEqual({ ok: true, value: expected });
  });

  it.each(["TRADE_PENDING", "trade_success", ""])("an unknown status %j → unknown_provider_status, never pending or success", (status) => {
    expect(mapTradeStatus(status, true)).toEqual({ ok: false, error: { code: "unknown_provider_status", providerStatus: status } });
  });

  it("refund_status: REFUND_SUCCESS → succeeded, absent → processing (retry with the same ref), other → unknown", () => {
    expect(mapRefundStatus("REFUND_SUCCESS")).toEqual({ ok: true, value: "succeeded" });
    expect(mapRefundStatus(undefined)).toEqual({ ok: true, value: "processing" });
    expect(mapRefundStatus("REFUND_FAIL")).toMatchObject({ ok: false, error: { code: "unknown_provider_status" } });
  });
});

describe("Alipay amount and id checks", () => {
  const paid = { code: "10000", out_trade_no: "P1", trade_no: "2026120122001", trade_status: "TRADE_SUCCESS", total_amount: "12.34", send_pay_date: "2026-12-01 09:00:00" };

  it("a matching answer reports captured with the amount", () => {
    expect(tradeQueryReport(paid, "P1", CNY(1234n))).toMatchObject({ ok: true, value: { status: "captured", amount: CNY(1234n), providerTransactionId: "2026120122001" } });
  });

  it("a missing total_amount fails the check instead of passing", () => {
    const { total_amount: _dropped, ...missing } = paid;
    expect(tradeQueryReport(missing, "P1", CNY(1234n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "total_amount" } });
  });

  it("another amount, another currency, another or no out_trade_no, no trade_no when paid: integrity_mismatch", () => {
    expect(tradeQueryReport({ ...paid, total_amount: "12.35" }, "P1", CNY(1234n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "total_amount" } });
    expect(tradeQueryReport(paid, "P1", { amountMinor: 1234n, currency: "USD" })).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "currency" } });
    expect(tradeQueryReport({ ...paid, out_trade_no: "P2" }, "P1", CNY(1234n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "out_trade_no" } });
    const { out_trade_no: _id, ...noId } = paid;
    expect(tradeQueryReport(noId, "P1", CNY(1234n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "out_trade_no" } });
    const { trade_no: _no, ...noTradeNo } = paid;
    expect(tradeQueryReport(noTradeNo, "P1", CNY(1234n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "trade_no" } });
  });

  it("an unknown trade_status in a query is unknown_provider_status", () => {
    expect(tradeQueryReport({ ...paid, trade_status: "TRADE_REVERSED" }, "P1", CNY(1234n))).toMatchObject({ ok: false, error: { code: "unknown_provider_status", providerStatus: "TRADE_REVERSED" } });
  });

  it("checkAmount refuses unreadable text and floats' favourites", () => {
    expect(checkAmount("total_amount", "12.340", CNY(1234n))).toBeUndefined();
    expect(checkAmount("total_amount", "1.234e1", CNY(1234n))).toMatchObject({ code: "integrity_mismatch" });
    expect(checkAmount("total_amount", "12.345", CNY(1234n))).toMatchObject({ code: "integrity_mismatch" });
  });
});

describe("Alipay notification", () => {
  const keys = { appId: "2021000000000001", pid: "2088000000000001", alipayPublicKey: alipayKey.publicKeyPem };
  const fields = {
    notify_time: "2026-12-01 09:00:05",
    notify_type: "trade_status_sync",
    notify_id: "ac05099524730693a8b330c5ecf72da9786",
    app_id: keys.appId,
    charset: "utf-8",
    version: "1.0",
    trade_no: "2026120122001000000001",
    out_trade_no: "P1",
    seller_id: keys.pid,
    trade_status: "TRADE_SUCCESS",
    total_amount: "12.34",
    subject: "书 & 笔",
    gmt_payment: "2026-12-01 09:00:04",
  };
  const signed = (f: Record<string, string>, key = alipayKey.privateKeyPem) =>
    Buffer.from(new URLSearchParams({ ...f, sign_type: "RSA2", sign: rsa2Sign(alipaySigningString(f, ["sign", "sign_type"]), key) }).toString());

  it("verifies without sign and sign_type and decodes a payment", () => {
    expect(decodeAlipayNotification(signed(fields), keys)).toMatchObject({
      ok: true,
      value: { kind: "payment", notificationId: fields.notify_id, sentAt: new Date("2026-12-01T01:00:05Z"), report: { paymentId: "P1", status: "captured", amount: CNY(1234n) } },
    });
  });

  it("decodes a refund with the cumulative refund_fee as refundedTotal", () => {
    const refund = { ...fields, out_biz_no: "R1", refund_fee: "2.00", gmt_refund: "2026-12-01 09:10:00.123" };
    expect(decodeAlipayNotification(signed(refund), keys)).toMatchObject({
      ok: true,
      value: { kind: "refund", report: { paymentId: "P1", refundRef: "R1", status: "succeeded", refundedTotal: CNY(200n) } },
    });
  });

  it("a tampered field, a foreign key, a missing sign → bad_signature", () => {
    const body = signed(fields).toString().replace("total_amount=12.34", "total_amount=99.34");
    expect(decodeAlipayNotification(Buffer.from(body), keys)).toMatchObject({ ok: false, error: { code: "bad_signature" } });
    expect(decodeAlipayNotification(signed(fields, otherKey.privateKeyPem), keys)).toMatchObject({ ok: false, error: { code: "bad_signature" } });
    expect(decodeAlipayNotification(Buffer.from(new URLSearchParams(fields).toString()), keys)).toMatchObject({ ok: false, error: { code: "bad_signature" } });
  });

  it("another app or seller, or a missing total_amount → malformed; an unknown status → unknown_provider_status", () => {
    expect(decodeAlipayNotification(signed({ ...fields, app_id: "2021000000000002" }), keys)).toMatchObject({ ok: false, error: { code: "malformed" } });
    expect(decodeAlipayNotification(signed({ ...fields, seller_id: "2088000000000002" }), keys)).toMatchObject({ ok: false, error: { code: "malformed" } });
    const { total_amount: _t, ...noAmount } = fields;
    expect(decodeAlipayNotification(signed(noAmount), keys)).toMatchObject({ ok: false, error: { code: "malformed" } });
    expect(decodeAlipayNotification(signed({ ...fields, trade_status: "TRADE_UNKNOWN" }), keys)).toMatchObject({ ok: false, error: { code: "unknown_provider_status", providerStatus: "TRADE_UNKNOWN" } });
  });
});
