import { describe, expect, it } from "vitest";
import { FeeTermsError, parseFeeTerms } from "./fee-terms-file.js";

describe("parseFeeTerms", () => {
  it("reads schedules, rules, merchant terms and cycles, keeping defaults for what is left out", () => {
    const terms = parseFeeTerms(
      JSON.stringify({
        providers: { unionpay: { defaultSchedule: { ratePpm: "3800", rounding: "half_even" }, rules: [{ channel: "app", schedule: { ratePpm: 2500, fixedMinor: 1, rounding: "down" } }] } },
        merchants: { "m-1": { reservePpm: "50000", reserveDays: 90, merchantBearsProviderFee: false } },
        settlementCycleDays: { alipay: 2 },
      }),
    );
    expect(terms.providers.unionpay).toEqual({ defaultSchedule: { ratePpm: 3800n, fixedMinor: 0n, rounding: "half_even" }, rules: [{ channel: "app", schedule: { ratePpm: 2500n, fixedMinor: 1n, rounding: "down" } }] });
    expect(terms.providers.wechat_pay.defaultSchedule.ratePpm).toBe(6000n);
    expect(terms.merchants?.["m-1"]).toMatchObject({ reservePpm: 50000n, reserveDays: 90, merchantBearsProviderFee: false, commission: { ratePpm: 5000n } });
    expect(terms.settlementCycleDays?.alipay).toBe(2);
  });

  it.each([
    ['{"providers":{"paypal":{}}}', "providers.paypal"],
    ['{"providers":{"alipay":{"defaultSchedule":{"ratePpm":"0.6","rounding":"half_up"}}}}', "providers.alipay.defaultSchedule.ratePpm"],
    ['{"providers":{"alipay":{"defaultSchedule":{"ratePpm":6000,"rounding":"nearest"}}}}', "providers.alipay.defaultSchedule.rounding"],
    ['{"merchants":{"m":{"merchantBearsProviderFee":"yes"}}}', "merchants.m.merchantBearsProviderFee"],
    ["not json", "$"],
  ])("names the bad field in %s", (text, path) => {
    expect(() => parseFeeTerms(text)).toThrow(FeeTermsError);
    try {
      parseFeeTerms(text);
    } catch (error) {
      expect((error as FeeTermsError).path).toBe(path);
    }
  });
});
