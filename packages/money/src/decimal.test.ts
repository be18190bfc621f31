import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CURRENCY_CODES, minorUnitDigits } from "./currency.js";
import { formatDecimal, formatDecimalScaled, parseDecimal, parseDecimalScaled } from "./decimal.js";
import { INT64_MAX, INT64_MIN } from "./int64.js";
import { ROUNDING_MODES } from "./rounding.js";

describe("parseDecimal", () => {
  it.each([
    ["1299.02", 129902n],
    ["-0.01", -1n],
    ["+1", 100n],
    ["12", 1200n],
    ["0.5", 50n],
    ["0", 0n],
    ["-0.00", 0n],
    ["007.50", 750n],
    ["7.79000", 779n],
    ["0.00000", 0n],
  ])("reads %s CNY as %s fen", (text, amountMinor) => {
    expect(parseDecimal(text, "CNY")).toEqual({ ok: true, value: { amountMinor, currency: "CNY" } });
  });

  it("reads JPY and KWD with their own minor units", () => {
    expect(parseDecimal("1500", "JPY")).toEqual({ ok: true, value: { amountMinor: 1500n, currency: "JPY" } });
    expect(parseDecimal("1500.0", "JPY")).toEqual({ ok: true, value: { amountMinor: 1500n, currency: "JPY" } });
    expect(parseDecimal("1.5", "JPY")).toMatchObject({ ok: false, error: { code: "too_many_fraction_digits" } });
    expect(parseDecimal("1.234", "KWD")).toEqual({ ok: true, value: { amountMinor: 1234n, currency: "KWD" } });
  });

  it.each(["1e3", "1E3", "1,000", "", " 1", "1 ", "1.", ".5", "NaN", "Infinity", "-", "+", "--1", "+-1", "0x10", "1.2.3", "１", "1_000", "¥1"])(
    "rejects %j as invalid_decimal",
    (text) => {
      const result = parseDecimal(text, "CNY");
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe("invalid_decimal");
        expect(result.error.text).toBe(text);
      }
    },
  );

  it("refuses absurdly long text before building a BigInt from it", () => {
    expect(parseDecimal(`0.${"0".repeat(300)}`, "CNY")).toMatchObject({ ok: false, error: { code: "invalid_decimal" } });
    expect(parseDecimal(`0.${"0".repeat(200)}`, "CNY")).toMatchObject({ ok: true, value: { amountMinor: 0n } });
  });

  it("refuses surplus non-zero fraction digits unless told how to round (WeChat five-decimal cells)", () => {
    expect(parseDecimal("0.12345", "CNY")).toEqual({
      ok: false,
      error: { code: "too_many_fraction_digits", text: "0.12345", fractionDigits: 5, scale: 2 },
    });
    expect(parseDecimal("0.12345", "CNY", { rounding: "half_up" })).toEqual({
      ok: true,
      value: { amountMinor: 12n, currency: "CNY" },
    });
    expect(parseDecimal("0.125", "CNY", { rounding: "half_even" })).toMatchObject({ ok: true, value: { amountMinor: 12n } });
    expect(parseDecimal("0.125", "CNY", { rounding: "half_up" })).toMatchObject({ ok: true, value: { amountMinor: 13n } });
    expect(parseDecimal("-0.001", "CNY", { rounding: "floor" })).toMatchObject({ ok: true, value: { amountMinor: -1n } });
    expect(parseDecimal("-0.001", "CNY", { rounding: "ceiling" })).toMatchObject({ ok: true, value: { amountMinor: 0n } });
    expect(parseDecimal("-0.001", "CNY", { rounding: "up" })).toMatchObject({ ok: true, value: { amountMinor: -1n } });
  });

  it("refuses amounts outside int64, and accepts the exact bounds", () => {
    expect(parseDecimal("92233720368547758.07", "CNY")).toMatchObject({ ok: true, value: { amountMinor: INT64_MAX } });
    expect(parseDecimal("-92233720368547758.08", "CNY")).toMatchObject({ ok: true, value: { amountMinor: INT64_MIN } });
    expect(parseDecimal("92233720368547758.08", "CNY")).toEqual({
      ok: false,
      error: { code: "out_of_int64_range", text: "92233720368547758.08" },
    });
    expect(parseDecimal("-92233720368547758.09", "CNY")).toMatchObject({ ok: false, error: { code: "out_of_int64_range" } });
    expect(parseDecimal("9223372036854775808", "JPY")).toMatchObject({ ok: false, error: { code: "out_of_int64_range" } });
    // Rounding must not carry a value past the bound unnoticed.
    expect(parseDecimal("92233720368547758.075", "CNY", { rounding: "half_up" })).toMatchObject({
      ok: false,
      error: { code: "out_of_int64_range" },
    });
  });
});

describe("parseDecimalScaled", () => {
  it("reads values at an arbitrary scale exactly", () => {
    expect(parseDecimalScaled("7.79000", 5)).toEqual({ ok: true, value: 779000n });
    expect(parseDecimalScaled("0.60", 4)).toEqual({ ok: true, value: 6000n });
    expect(parseDecimalScaled("0.0038", 6)).toEqual({ ok: true, value: 3800n });
    expect(parseDecimalScaled("12", 0)).toEqual({ ok: true, value: 12n });
    expect(parseDecimalScaled("1.5", 0)).toMatchObject({ ok: false, error: { code: "too_many_fraction_digits", scale: 0 } });
  });

  it("refuses a nonsensical scale", () => {
    expect(() => parseDecimalScaled("1", -1)).toThrow(RangeError);
    expect(() => parseDecimalScaled("1", 1.5)).toThrow(RangeError);
  });

  it("round-trips with formatDecimalScaled for every int64 at scales 0..8", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), fc.integer({ min: 0, max: 8 }), (value, scale) => {
        expect(parseDecimalScaled(formatDecimalScaled(value, scale), scale)).toEqual({ ok: true, value });
      }),
    );
  });

  it("agrees with the grammar on any text near a decimal, across the 15-digit edge (property)", () => {
    // An independent reading: the accepted shape by regex, the value by BigInt of the digits.
    const model = (text: string, scale: number): bigint | "refused" => {
      const m = /^([+-]?)([0-9]+)(?:\.([0-9]+))?$/.exec(text);
      if (m === null || text.length > 256) return "refused";
      const fraction = m[3] ?? "";
      if (fraction.length > scale && !/^0+$/.test(fraction.slice(scale))) return "refused";
      const magnitude = BigInt((m[2] ?? "") + fraction.slice(0, scale).padEnd(scale, "0"));
      const value = m[1] === "-" ? -magnitude : magnitude;
      return value < INT64_MIN || value > INT64_MAX ? "refused" : value;
    };
    const digits = (max: number) => fc.stringMatching(new RegExp(`^[0-9]{0,${max}}$`));
    const nearDecimal = fc.oneof(
      fc.tuple(fc.constantFrom("", "-", "+", "--", " "), digits(19), fc.constantFrom("", ".", ",", "e"), digits(8), fc.constantFrom("", "0", " ", "x")).map((parts) => parts.join("")),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(nearDecimal, fc.integer({ min: 0, max: 8 }), (text, scale) => {
        const parsed = parseDecimalScaled(text, scale);
        expect(parsed.ok ? parsed.value : "refused").toBe(model(text, scale));
      }),
      { numRuns: 20_000 },
    );
    expect(parseDecimalScaled("999999999999.999", 3)).toEqual({ ok: true, value: 999_999_999_999_999n });
    expect(parseDecimalScaled("9999999999999.999", 3)).toEqual({ ok: true, value: 9_999_999_999_999_999n });
    expect(parseDecimalScaled("9007199254740993", 0)).toEqual({ ok: true, value: 9_007_199_254_740_993n });
    expect(parseDecimalScaled(`${"0".repeat(300)}1`, 0)).toMatchObject({ ok: false, error: { code: "invalid_decimal" } });
  });

  it("with rounding, lands on one of the two neighbours of the exact value (property)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(...ROUNDING_MODES),
        (exact, extra, rounding) => {
          const scale = 2;
          const text = formatDecimalScaled(exact, scale + extra);
          const result = parseDecimalScaled(text, scale, { rounding });
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          const factor = 10n ** BigInt(extra);
          // value × factor is within one factor of the exact value.
          const diff = exact - result.value * factor;
          expect(diff > -factor && diff < factor).toBe(true);
        },
      ),
    );
  });
});

describe("formatDecimal", () => {
  it.each([
    [129902n, "CNY", "1299.02"],
    [-1n, "CNY", "-0.01"],
    [0n, "CNY", "0.00"],
    [5n, "CNY", "0.05"],
    [-129902n, "CNY", "-1299.02"],
    [1500n, "JPY", "1500"],
    [-1500n, "JPY", "-1500"],
    [1234n, "KWD", "1.234"],
    [INT64_MIN, "CNY", "-92233720368547758.08"],
  ] as const)("writes %s %s as %s", (amountMinor, currency, text) => {
    expect(formatDecimal({ amountMinor, currency })).toBe(text);
  });

  it("pads to a fixed number of fraction digits for formats that demand it", () => {
    expect(formatDecimal({ amountMinor: 779n, currency: "CNY" }, { fractionDigits: 5 })).toBe("7.79000");
    expect(formatDecimal({ amountMinor: -1n, currency: "CNY" }, { fractionDigits: 5 })).toBe("-0.01000");
    expect(formatDecimal({ amountMinor: 1500n, currency: "JPY" }, { fractionDigits: 2 })).toBe("1500.00");
    expect(() => formatDecimal({ amountMinor: 779n, currency: "CNY" }, { fractionDigits: 1 })).toThrow(RangeError);
  });

  it("parse ∘ format is the identity for every int64 amount and every currency", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), fc.constantFrom(...CURRENCY_CODES), (amountMinor, currency) => {
        const amount = { amountMinor, currency };
        expect(parseDecimal(formatDecimal(amount), currency)).toEqual({ ok: true, value: amount });
        expect(parseDecimal(formatDecimal(amount, { fractionDigits: 5 }), currency)).toEqual({ ok: true, value: amount });
      }),
      { numRuns: 1000 },
    );
  });

  it("format ∘ parse is the identity for canonical strings", () => {
    const canonical = fc
      .tuple(
        fc.constantFrom(...CURRENCY_CODES),
        fc.boolean(),
        fc.oneof(fc.constant("0"), fc.stringMatching(/^[1-9][0-9]{0,14}$/)),
        fc.stringMatching(/^[0-9]{3}$/),
      )
      .map(([currency, negative, integerPart, fractionSource]) => {
        const digits = minorUnitDigits(currency);
        const fraction = fractionSource.slice(0, digits);
        const isZero = integerPart === "0" && /^0*$/.test(fraction);
        const text = `${negative && !isZero ? "-" : ""}${integerPart}${digits > 0 ? `.${fraction}` : ""}`;
        return { currency, text };
      });
    fc.assert(
      fc.property(canonical, ({ currency, text }) => {
        const parsed = parseDecimal(text, currency);
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(formatDecimal(parsed.value)).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });
});
