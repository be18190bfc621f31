import { money } from "@tributary/money";
import { describe, expect, it } from "vitest";
import { checkHmacAmount, hmacErrorAnswer, hmacPaymentReport, hmacPaymentStatus, hmacRefundReport, hmacRefundStatus } from "./transformers.js";

const cny = (minor: bigint) => money(minor, "CNY");

describe("HMAC JSON payment statuses", () => {
  it.each([
    ["PENDING", "pending"],
    ["SUCCEEDED", "captured"],
    ["PARTIALLY_REFUNDED", "partially_refunded"],
    ["REFUNDED", "refunded"],
    ["CLOSED", "closed"],
  ] as const)("%s → %s", (status, ours) => {
    expect(hmacPaymentStatus(status)).toEqual({ ok: true, value: ours });
  });

  it.each(["FAILED", "succeeded", "", "toString", "__proto__", "SUCCESS"])("unknown %j → unknown_provider_status, never pending or captured", (status) => {
    expect(hmacPaymentStatus(status)).toMatchObject({ ok: false, error: { code: "unknown_provider_status", providerStatus: status, retryable: false } });
  });
});

describe("HMAC JSON refund statuses", () => {
  it("PROCESSING and SUCCEEDED map; anything else goes to review", () => {
    expect(hmacRefundStatus("PROCESSING")).toEqual({ ok: true, value: "processing" });
    expect(hmacRefundStatus("SUCCEEDED")).toEqual({ ok: true, value: "succeeded" });
    expect(hmacRefundStatus("FAILED")).toMatchObject({ ok: false, error: { code: "unknown_provider_status", providerStatus: "FAILED" } });
  });
});

describe("HMAC JSON amount and currency check", () => {
  it("passes only the same amount in the same currency", () => {
    expect(checkHmacAmount({ amountMinor: "129902", currency: "CNY" }, cny(129902n))).toEqual({ ok: true, value: cny(129902n) });
    expect(checkHmacAmount({ amountMinor: "129901", currency: "CNY" }, cny(129902n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "amountMinor" } });
    expect(checkHmacAmount({ amountMinor: "129902", currency: "HKD" }, cny(129902n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "currency" } });
  });

  it("a missing amount or currency fails the check", () => {
    expect(checkHmacAmount({ currency: "CNY" }, cny(1n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "amountMinor" } });
    expect(checkHmacAmount({ amountMinor: "1" }, cny(1n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "currency" } });
    expect(checkHmacAmount({ amountMinor: "", currency: "" }, cny(1n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch" } });
  });

  it.each([[1], ["12.34"], ["-5"], ["1e2"], [" 1"], [null]])("amountMinor %j is not a string of fen and fails", (value) => {
    expect(checkHmacAmount({ amountMinor: value, currency: "CNY" }, cny(1n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "amountMinor" } });
  });

  it("an unknown currency fails", () => {
    expect(checkHmacAmount({ amountMinor: "1", currency: "XYZ" }, cny(1n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "currency" } });
  });
});

describe("HMAC JSON views → reports", () => {
  const payment = { merchantId: "110000000001", outTradeNo: "PAY-1", providerTradeNo: "JD1", status: "SUCCEEDED", amountMinor: "500", refundedMinor: "0", currency: "CNY", paidAt: "2026-11-23T10:00:00.000+08:00" };

  it("a captured payment with its provider id and paid time", () => {
    expect(hmacPaymentReport(payment, "110000000001", "PAY-1", cny(500n))).toEqual({
      ok: true,
      value: { paymentId: "PAY-1", status: "captured", amount: cny(500n), providerStatus: "SUCCEEDED", providerTransactionId: "JD1", paidAt: new Date("2026-11-23T02:00:00.000Z") },
    });
  });

  it("another merchant's or another order's view fails; so does one without them", () => {
    expect(hmacPaymentReport(payment, "110000000002", "PAY-1", cny(500n))).toMatchObject({ ok: false, error: { field: "merchantId" } });
    expect(hmacPaymentReport(payment, "110000000001", "PAY-2", cny(500n))).toMatchObject({ ok: false, error: { field: "outTradeNo" } });
    const { outTradeNo: _o, ...anonymous } = payment;
    expect(hmacPaymentReport(anonymous, "110000000001", "PAY-1", cny(500n))).toMatchObject({ ok: false, error: { field: "outTradeNo" } });
  });

  it("a missing amount fails even though the status says captured", () => {
    const { amountMinor: _a, ...noAmount } = payment;
    expect(hmacPaymentReport(noAmount, "110000000001", "PAY-1", cny(500n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch", field: "amountMinor" } });
  });

  it("a refund view is checked against the refund's number and amount", () => {
    const refund = { merchantId: "110000000001", outTradeNo: "PAY-1", outRefundNo: "R-1", providerRefundNo: "RJD1", status: "PROCESSING", amountMinor: "200", currency: "CNY" };
    expect(hmacRefundReport(refund, "110000000001", "PAY-1", "R-1", cny(200n))).toMatchObject({ ok: true, value: { status: "processing", providerRefundId: "RJD1" } });
    expect(hmacRefundReport(refund, "110000000001", "PAY-1", "R-2", cny(200n))).toMatchObject({ ok: false, error: { field: "outRefundNo" } });
    expect(hmacRefundReport(refund, "110000000001", "PAY-1", "R-1", cny(300n))).toMatchObject({ ok: false, error: { field: "amountMinor" } });
  });
});

describe("HMAC JSON error answers", () => {
  it("maps each listed code", () => {
    expect(hmacErrorAnswer(422, { error: { code: "REFUND_EXCEEDS_AMOUNT", message: "too much" } })).toMatchObject({ code: "rejected", providerCode: "REFUND_EXCEEDS_AMOUNT" });
    expect(hmacErrorAnswer(404, { error: { code: "NOT_FOUND", message: "no" } })).toMatchObject({ code: "not_found" });
    expect(hmacErrorAnswer(409, { error: { code: "ALREADY_PAID", message: "paid" } })).toMatchObject({ code: "rejected", providerCode: "ALREADY_PAID" });
    expect(hmacErrorAnswer(401, { error: { code: "INVALID_SIGNATURE", message: "bad" } })).toMatchObject({ code: "rejected", providerCode: "INVALID_SIGNATURE" });
  });

  it("an unknown code or an error without one goes to review", () => {
    expect(hmacErrorAnswer(400, { error: { code: "NEW_THING", message: "?" } })).toMatchObject({ code: "unknown_provider_status", providerStatus: "NEW_THING" });
    expect(hmacErrorAnswer(400, undefined)).toMatchObject({ code: "unknown_provider_status", providerStatus: "HTTP 400" });
  });
});
