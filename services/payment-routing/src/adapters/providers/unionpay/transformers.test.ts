import { money } from "@tributary/money";
import { describe, expect, it } from "vitest";
import {
  checkUnionpayAmount,
  parseUnionpayAnswer,
  UNIONPAY_CODES,
  unionpayCurrencyCode,
  unionpayPaymentReport,
  unionpayPaymentStatus,
  unionpayRefundReport,
  unionpayRefundStatus,
  unionpayRespCodeOutcome,
  unionpayTime,
} from "./transformers.js";

const cny = (minor: bigint) => money(minor, "CNY");

describe("UnionPay origRespCode → payment status", () => {
  it.each([
    ["00", "captured"],
    ["A6", "captured"],
    ["03", "pending"],
    ["04", "pending"],
    ["05", "pending"],
    ["01", "failed"],
    ["30", "failed"],
    ["64", "failed"],
  ] as const)("%s → %s", (code, status) => {
    expect(unionpayPaymentStatus(code)).toEqual({ ok: true, value: status });
  });

  it.each(["Z9", "99", "", "0", "000", "a6"])("unknown %j → unknown_provider_status, never pending or captured", (code) => {
    const result = unionpayPaymentStatus(code);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatchObject({ code: "unknown_provider_status", providerStatus: `origRespCode=${code}`, retryable: false });
  });

  it("does not read a request-level code (12 duplicate, 34 not found) as an original transaction's state", () => {
    expect(unionpayPaymentStatus("12")).toMatchObject({ ok: false, error: { code: "unknown_provider_status" } });
    expect(unionpayPaymentStatus("34")).toMatchObject({ ok: false, error: { code: "unknown_provider_status" } });
  });

  it("maps every code in the table to something without throwing (no code falls through)", () => {
    for (const code of Object.keys(UNIONPAY_CODES)) {
      expect(() => unionpayPaymentStatus(code)).not.toThrow();
      expect(() => unionpayRefundStatus(code)).not.toThrow();
      expect(() => unionpayRespCodeOutcome({ respCode: code })).not.toThrow();
    }
  });
});

describe("UnionPay origRespCode → refund status", () => {
  it.each([
    ["00", "succeeded"],
    ["05", "processing"],
    ["01", "failed"],
  ] as const)("%s → %s", (code, status) => {
    expect(unionpayRefundStatus(code)).toEqual({ ok: true, value: status });
  });

  it("unknown → unknown_provider_status", () => {
    expect(unionpayRefundStatus("Q1")).toMatchObject({ ok: false, error: { code: "unknown_provider_status", providerStatus: "origRespCode=Q1" } });
  });
});

describe("UnionPay respCode of a sync answer", () => {
  it("00 and A6 go on, 03/04/05 are in progress", () => {
    expect(unionpayRespCodeOutcome({ respCode: "00" })).toEqual({ ok: true, value: "success" });
    expect(unionpayRespCodeOutcome({ respCode: "A6" })).toEqual({ ok: true, value: "success" });
    expect(unionpayRespCodeOutcome({ respCode: "05" })).toEqual({ ok: true, value: "in_progress" });
  });

  it("12 (duplicate) is outcome_unknown — an earlier attempt may have taken effect — never rejected", () => {
    expect(unionpayRespCodeOutcome({ respCode: "12" })).toMatchObject({ ok: false, error: { code: "outcome_unknown", retryable: true } });
  });

  it("34 is not_found; 01 and 11 are rejected by the platform, 64 on the buyer's side", () => {
    expect(unionpayRespCodeOutcome({ respCode: "34" })).toMatchObject({ ok: false, error: { code: "not_found" } });
    expect(unionpayRespCodeOutcome({ respCode: "01" })).toMatchObject({ ok: false, error: { code: "rejected", providerCode: "01", buyerSide: false } });
    expect(unionpayRespCodeOutcome({ respCode: "11" })).toMatchObject({ ok: false, error: { code: "rejected", providerCode: "11", buyerSide: false } });
    expect(unionpayRespCodeOutcome({ respCode: "64" })).toMatchObject({ ok: false, error: { code: "rejected", providerCode: "64", buyerSide: true } });
  });

  it("an unknown respCode is unknown_provider_status; a missing one fails the check", () => {
    expect(unionpayRespCodeOutcome({ respCode: "B7" })).toMatchObject({ ok: false, error: { code: "unknown_provider_status", providerStatus: "respCode=B7" } });
    expect(unionpayRespCodeOutcome({})).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "respCode" } });
  });
});

describe("UnionPay amount check", () => {
  it("passes only the same fen amount in the same currency", () => {
    expect(checkUnionpayAmount({ txnAmt: "129902", currencyCode: "156" }, cny(129902n))).toEqual({ ok: true, value: cny(129902n) });
    expect(checkUnionpayAmount({ txnAmt: "129903", currencyCode: "156" }, cny(129902n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "txnAmt" } });
    expect(checkUnionpayAmount({ txnAmt: "129902", currencyCode: "840" }, cny(129902n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "currencyCode" } });
  });

  it("a missing txnAmt or currencyCode fails the check (it never passes by absence)", () => {
    expect(checkUnionpayAmount({ currencyCode: "156" }, cny(1n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "txnAmt" } });
    expect(checkUnionpayAmount({ txnAmt: "", currencyCode: "156" }, cny(1n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "txnAmt" } });
    expect(checkUnionpayAmount({ txnAmt: "1" }, cny(1n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "currencyCode" } });
  });

  it.each(["12.34", "-1", "+1", "1e3", " 1", "0x10", "99999999999999999999"])("txnAmt %j is not fen and fails", (text) => {
    expect(checkUnionpayAmount({ txnAmt: text, currencyCode: "156" }, cny(1234n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "txnAmt" } });
  });

  it("an unknown numeric currency fails", () => {
    expect(checkUnionpayAmount({ txnAmt: "1", currencyCode: "999" }, cny(1n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "currencyCode" } });
    expect(unionpayCurrencyCode("CNY")).toBe("156");
  });
});

describe("UnionPay query answer → reports", () => {
  const answer = { orderId: "PAY00000001", origRespCode: "00", queryId: "112211221122112211221", txnAmt: "100", currencyCode: "156", respCode: "00" };

  it("a captured consume carries its queryId and checked amount", () => {
    expect(unionpayPaymentReport(answer, "PAY00000001", cny(100n))).toEqual({
      ok: true,
      value: { paymentId: "PAY00000001", status: "captured", amount: cny(100n), providerStatus: "origRespCode=00", providerTransactionId: "112211221122112211221" },
    });
  });

  it("missing txnAmt → integrity_mismatch, even when everything else says captured", () => {
    const { txnAmt: _dropped, ...withoutAmount } = answer;
    expect(unionpayPaymentReport(withoutAmount, "PAY00000001", cny(100n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "txnAmt" } });
  });

  it("another order's answer, a missing orderId or a captured consume without queryId fail", () => {
    expect(unionpayPaymentReport({ ...answer, orderId: "PAY00000002" }, "PAY00000001", cny(100n))).toMatchObject({ ok: false, error: { field: "orderId" } });
    const { orderId: _o, ...noOrder } = answer;
    expect(unionpayPaymentReport(noOrder, "PAY00000001", cny(100n))).toMatchObject({ ok: false, error: { field: "orderId" } });
    const { queryId: _q, ...noQueryId } = answer;
    expect(unionpayPaymentReport(noQueryId, "PAY00000001", cny(100n))).toMatchObject({ ok: false, error: { field: "queryId" } });
    const { origRespCode: _c, ...noOrig } = answer;
    expect(unionpayPaymentReport(noOrig, "PAY00000001", cny(100n))).toMatchObject({ ok: false, error: { field: "origRespCode" } });
  });

  it("a refund's answer is checked against the refund amount", () => {
    const refund = { ...answer, orderId: "REF00000001", origRespCode: "05", txnAmt: "40" };
    expect(unionpayRefundReport(refund, "REF00000001", cny(40n))).toMatchObject({ ok: true, value: { status: "processing", amount: cny(40n) } });
    expect(unionpayRefundReport(refund, "REF00000001", cny(41n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "txnAmt" } });
  });
});

describe("UnionPay wire text", () => {
  it("splits a sync answer on & and the first = without URL-decoding", () => {
    expect(parseUnionpayAnswer("a=1&signPubKeyCert=-----BEGIN CERTIFICATE-----\nAB+C=\n-----END CERTIFICATE-----&signature=xy/z==\n")).toEqual({
      a: "1",
      signPubKeyCert: "-----BEGIN CERTIFICATE-----\nAB+C=\n-----END CERTIFICATE-----",
      signature: "xy/z==",
    });
  });

  it("writes txnTime in Beijing time", () => {
    expect(unionpayTime(new Date("2026-11-23T16:00:00.000Z"))).toBe("20261124000000");
    expect(unionpayTime(new Date("2026-11-23T15:59:59.999Z"))).toBe("20261123235959");
  });
});
