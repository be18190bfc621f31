import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CurrencyMismatchError } from "./errors.js";
import { feeFor, formatRatePercent, parseRatePpm, refundFee, type FeeSchedule } from "./fee.js";
import { money, type Money } from "./money.js";
import { ROUNDING_MODES, type RoundingMode } from "./rounding.js";

const cny = (amountMinor: bigint): Money => money(amountMinor, "CNY");
const wechatStandard: FeeSchedule = { ratePpm: 6000n, fixedMinor: 0n, rounding: "half_up" };

/** Grade-school multiplication of two non-negative decimal digit strings. */
function multiplyDigits(a: string, b: string): string {
  const product = new Array<number>(a.length + b.length).fill(0);
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      const position = i + j + 1;
      const total = (product[position] ?? 0) + Number(a[i]) * Number(b[j]);
      product[position] = total % 10;
      product[i + j] = (product[i + j] ?? 0) + Math.floor(total / 10);
    }
  }
  return product.join("").replace(/^0+(?=\d)/, "");
}

/** Adds one to a non-negative decimal digit string. */
function incrementDigits(digits: string): string {
  const out = digits.split("");
  for (let i = out.length - 1; i >= 0; i -= 1) {
    if (out[i] !== "9") {
      out[i] = String(Number(out[i]) + 1);
      return out.join("");
    }
    out[i] = "0";
  }
  return `1${out.join("")}`;
}

/**
 * The fee computed without bigint division: multiply the digit strings, shift six places for
 * ppm, and round by looking at the dropped digits as text.
 */
function referenceFee(amountMinor: bigint, schedule: FeeSchedule): bigint {
  const product = multiplyDigits(amountMinor.toString(), schedule.ratePpm.toString()).padStart(7, "0");
  const integerPart = product.slice(0, -6);
  const dropped = product.slice(-6);
  const nonZero = dropped !== "000000";
  const lastDigitOdd = Number(integerPart.at(-1)) % 2 === 1;
  const roundUp: Record<RoundingMode, boolean> = {
    down: false,
    floor: false,
    up: nonZero,
    ceiling: nonZero,
    half_up: dropped >= "500000",
    half_down: dropped > "500000",
    half_even: dropped > "500000" || (dropped === "500000" && lastDigitOdd),
  };
  const rounded = roundUp[schedule.rounding] ? incrementDigits(integerPart) : integerPart;
  return BigInt(rounded) + schedule.fixedMinor;
}

describe("feeFor", () => {
  it("reproduces WeChat's per-transaction rounding: 1299.02 CNY at 0.6% is 7.79, 0.01 CNY is 0.00", () => {
    expect(feeFor(cny(129902n), wechatStandard)).toEqual(cny(779n));
    expect(feeFor(cny(1n), wechatStandard)).toEqual(cny(0n));
    expect(feeFor(cny(0n), wechatStandard)).toEqual(cny(0n));
  });

  it("rounds the way the schedule says, then adds the fixed part", () => {
    // 2.50 CNY at 0.6% = 1.5 fen exactly: the tie shows each mode.
    const tie = cny(250n);
    expect(feeFor(tie, { ...wechatStandard, rounding: "half_up" })).toEqual(cny(2n));
    expect(feeFor(tie, { ...wechatStandard, rounding: "half_down" })).toEqual(cny(1n));
    expect(feeFor(tie, { ...wechatStandard, rounding: "half_even" })).toEqual(cny(2n));
    expect(feeFor(cny(83n), { ...wechatStandard, rounding: "up" })).toEqual(cny(1n));
    expect(feeFor(cny(83n), { ...wechatStandard, rounding: "down" })).toEqual(cny(0n));
    expect(feeFor(cny(129902n), { ratePpm: 3800n, fixedMinor: 30n, rounding: "half_up" })).toEqual(cny(524n));
    expect(feeFor(money(10000n, "JPY"), { ratePpm: 36000n, fixedMinor: 0n, rounding: "floor" })).toEqual(money(360n, "JPY"));
  });

  it("refuses negative amounts and negative schedules", () => {
    expect(() => feeFor(cny(-1n), wechatStandard)).toThrow(RangeError);
    expect(() => feeFor(cny(1n), { ...wechatStandard, ratePpm: -1n })).toThrow(RangeError);
    expect(() => feeFor(cny(1n), { ...wechatStandard, fixedMinor: -1n })).toThrow(RangeError);
  });

  it("matches a reference computed by string multiplication and digit inspection (property)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 0n, max: 1_000_000n }),
        fc.bigInt({ min: 0n, max: 1000n }),
        fc.constantFrom(...ROUNDING_MODES),
        (amountMinor, ratePpm, fixedMinor, rounding) => {
          const schedule = { ratePpm, fixedMinor, rounding };
          expect(feeFor(cny(amountMinor), schedule).amountMinor).toBe(referenceFee(amountMinor, schedule));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("refundFee", () => {
  it("returns the proportional fee for a partial refund and the whole fee for a full one", () => {
    // 100.00 of 1299.02 refunded: 7.79 × 100 / 1299.02 = 0.5996… → 0.60.
    expect(refundFee(cny(129902n), cny(779n), cny(10000n), "half_up")).toEqual(cny(60n));
    expect(refundFee(cny(129902n), cny(779n), cny(129902n), "half_up")).toEqual(cny(779n));
    expect(refundFee(cny(0n), cny(0n), cny(0n), "half_up")).toEqual(cny(0n));
  });

  it("never returns more than the original fee across partial refunds, even where per-refund rounding would", () => {
    // Fee 2 on 3: rounding each 1/3 refund alone (2/3 → 1) would give back 3. The cumulative rule gives 1, 0, 1.
    const refunds = [
      refundFee(cny(3n), cny(2n), cny(1n), "half_up", cny(0n)),
      refundFee(cny(3n), cny(2n), cny(1n), "half_up", cny(1n)),
      refundFee(cny(3n), cny(2n), cny(1n), "half_up", cny(2n)),
    ];
    expect(minorsOf(refunds)).toEqual([1n, 0n, 1n]);
  });

  it("refuses refunds beyond the original, negative input and mixed currencies", () => {
    expect(() => refundFee(cny(100n), cny(1n), cny(101n), "half_up")).toThrow(RangeError);
    expect(() => refundFee(cny(100n), cny(1n), cny(60n), "half_up", cny(50n))).toThrow(RangeError);
    expect(() => refundFee(cny(100n), cny(1n), cny(-1n), "half_up")).toThrow(RangeError);
    expect(() => refundFee(cny(100n), cny(1n), money(1n, "USD"), "half_up")).toThrow(CurrencyMismatchError);
  });

  it("full refund returns the original fee; partial sums never exceed it and reach it when all is refunded (property)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 10n }),
        fc.bigInt({ min: 0n, max: 1_000_000n }),
        fc.array(fc.bigInt({ min: 1n, max: 1000n }), { minLength: 1, maxLength: 10 }),
        fc.constantFrom(...ROUNDING_MODES),
        (amountMinor, ratePpm, cutWeights, rounding) => {
          const original = cny(amountMinor);
          const fee = feeFor(original, { ratePpm, fixedMinor: 0n, rounding: "half_up" });
          expect(refundFee(original, fee, original, rounding)).toEqual(fee);

          // Split the whole amount into partial refunds by the random weights.
          const totalWeight = cutWeights.reduce((a, b) => a + b, 0n);
          const parts = cutWeights.map((w) => (amountMinor * w) / totalWeight);
          parts[parts.length - 1] = amountMinor - parts.slice(0, -1).reduce((a, b) => a + b, 0n);
          let refunded = 0n;
          let feeReturned = 0n;
          for (const part of parts) {
            const returned = refundFee(original, fee, cny(part), rounding, cny(refunded)).amountMinor;
            expect(returned >= 0n).toBe(true);
            refunded += part;
            feeReturned += returned;
            expect(feeReturned <= fee.amountMinor).toBe(true);
          }
          expect(feeReturned).toBe(fee.amountMinor);
        },
      ),
      { numRuns: 500 },
    );
  });
});

function minorsOf(list: readonly Money[]): bigint[] {
  return list.map((item) => item.amountMinor);
}

describe("parseRatePpm / formatRatePercent", () => {
  it.each([
    ["0.60%", 6000n],
    ["0.6%", 6000n],
    ["0.38%", 3800n],
    ["0.0038", 3800n],
    ["0.006", 6000n],
    ["100%", 1_000_000n],
    ["1", 1_000_000n],
    ["0%", 0n],
    ["0.0001%", 1n],
  ])("reads %s as %s ppm", (text, ppm) => {
    expect(parseRatePpm(text)).toEqual({ ok: true, value: ppm });
  });

  it("returns errors as values for text that is not a usable rate", () => {
    expect(parseRatePpm("0.6 %")).toMatchObject({ ok: false, error: { code: "invalid_decimal", text: "0.6 %" } });
    expect(parseRatePpm("%")).toMatchObject({ ok: false, error: { code: "invalid_decimal" } });
    expect(parseRatePpm("")).toMatchObject({ ok: false, error: { code: "invalid_decimal" } });
    expect(parseRatePpm("0.6%%")).toMatchObject({ ok: false, error: { code: "invalid_decimal" } });
    expect(parseRatePpm("0.00001%")).toMatchObject({ ok: false, error: { code: "too_many_fraction_digits", text: "0.00001%" } });
    expect(parseRatePpm("0.0000001")).toMatchObject({ ok: false, error: { code: "too_many_fraction_digits" } });
    expect(parseRatePpm("-0.6%")).toMatchObject({ ok: false, error: { code: "invalid_rate", reason: "negative rate" } });
    expect(parseRatePpm("100.01%")).toMatchObject({ ok: false, error: { code: "invalid_rate" } });
    expect(parseRatePpm("1.5")).toMatchObject({ ok: false, error: { code: "invalid_rate" } });
  });

  it.each([
    [6000n, "0.60%"],
    [3800n, "0.38%"],
    [0n, "0.00%"],
    [1n, "0.0001%"],
    [12345n, "1.2345%"],
    [1_000_000n, "100.00%"],
  ])("writes %s ppm as %s", (ppm, text) => {
    expect(formatRatePercent(ppm)).toBe(text);
  });

  it("parse ∘ format is the identity for every rate from 0 to 100% (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1_000_000n }), (ppm) => {
        expect(parseRatePpm(formatRatePercent(ppm))).toEqual({ ok: true, value: ppm });
      }),
    );
  });
});
