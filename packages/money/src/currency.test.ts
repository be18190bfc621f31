import { describe, expect, it } from "vitest";
import { CURRENCY_CODES, isCurrencyCode, minorUnitDigits, parseCurrencyCode } from "./currency.js";

describe("currency table", () => {
  it("knows the ISO 4217 minor-unit digits of the currencies we settle in", () => {
    expect(minorUnitDigits("CNY")).toBe(2);
    expect(minorUnitDigits("HKD")).toBe(2);
    expect(minorUnitDigits("USD")).toBe(2);
    expect(minorUnitDigits("EUR")).toBe(2);
    expect(minorUnitDigits("JPY")).toBe(0);
    expect(minorUnitDigits("KRW")).toBe(0);
    expect(minorUnitDigits("KWD")).toBe(3);
    expect(CURRENCY_CODES).toContain("GBP");
  });

  it("accepts only codes in the table, case-sensitively, and not inherited keys", () => {
    expect(isCurrencyCode("CNY")).toBe(true);
    expect(isCurrencyCode("cny")).toBe(false);
    expect(isCurrencyCode("RMB")).toBe(false);
    expect(isCurrencyCode("toString")).toBe(false);
    expect(isCurrencyCode("")).toBe(false);
    expect(parseCurrencyCode("XXX")).toEqual({ ok: false, error: { code: "unknown_currency", text: "XXX" } });
    expect(parseCurrencyCode("JPY")).toEqual({ ok: true, value: "JPY" });
  });
});
