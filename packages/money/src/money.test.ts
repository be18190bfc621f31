import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CURRENCY_CODES, type CurrencyCode } from "./currency.js";
import { CurrencyMismatchError, Int64OverflowError } from "./errors.js";
import { INT64_MAX, INT64_MIN } from "./int64.js";
import {
  add,
  addChecked,
  compare,
  compareChecked,
  equals,
  isNegative,
  isPositive,
  isZero,
  money,
  negate,
  subtract,
  subtractChecked,
  sum,
  sumChecked,
  zero,
  type Money,
} from "./money.js";

const cny = (amountMinor: bigint): Money => money(amountMinor, "CNY");
const usd = (amountMinor: bigint): Money => money(amountMinor, "USD");

describe("money arithmetic", () => {
  it("adds, subtracts, negates and compares in one currency", () => {
    expect(add(cny(129902n), cny(-779n))).toEqual(cny(129123n));
    expect(subtract(cny(100n), cny(101n))).toEqual(cny(-1n));
    expect(negate(cny(779n))).toEqual(cny(-779n));
    expect(compare(cny(1n), cny(2n))).toBe(-1);
    expect(compare(cny(2n), cny(2n))).toBe(0);
    expect(compare(cny(3n), cny(2n))).toBe(1);
    expect(equals(cny(1n), cny(1n))).toBe(true);
    expect(equals(cny(1n), usd(1n))).toBe(false);
    expect(isZero(zero("JPY"))).toBe(true);
    expect(isZero(cny(-1n))).toBe(false);
    expect(isNegative(cny(-1n))).toBe(true);
    expect(isNegative(cny(0n))).toBe(false);
    expect(isPositive(cny(1n))).toBe(true);
    expect(isPositive(cny(0n))).toBe(false);
    expect(sum([cny(1n), cny(2n), cny(-3n), cny(10n)], "CNY")).toEqual(cny(10n));
    expect(sum([], "JPY")).toEqual(zero("JPY"));
  });

  it("throws when arithmetic leaves int64", () => {
    expect(() => add(cny(INT64_MAX), cny(1n))).toThrow(Int64OverflowError);
    expect(() => subtract(cny(INT64_MIN), cny(1n))).toThrow(Int64OverflowError);
    expect(() => negate(cny(INT64_MIN))).toThrow(Int64OverflowError);
    expect(() => sum([cny(INT64_MAX), cny(INT64_MAX), cny(INT64_MIN)], "CNY")).toThrow(Int64OverflowError);
    expect(() => money(INT64_MAX + 1n, "CNY")).toThrow(Int64OverflowError);
    expect(negate(cny(INT64_MAX))).toEqual(cny(INT64_MIN + 1n));
  });

  it("refuses a currency outside the table even when the type was bypassed", () => {
    expect(() => money(1n, "RMB" as CurrencyCode)).toThrow(RangeError);
  });

  it("refuses mixed currencies: unchecked variants throw, checked variants return currency_mismatch", () => {
    expect(() => add(cny(1n), usd(1n))).toThrow(CurrencyMismatchError);
    expect(() => subtract(cny(1n), usd(1n))).toThrow(CurrencyMismatchError);
    expect(() => compare(cny(1n), usd(1n))).toThrow(CurrencyMismatchError);
    expect(() => sum([cny(1n), usd(1n)], "CNY")).toThrow(CurrencyMismatchError);
    expect(() => sum([usd(1n)], "CNY")).toThrow(CurrencyMismatchError);
    const error = { code: "currency_mismatch", expected: "CNY", actual: "USD" };
    expect(addChecked(cny(1n), usd(1n))).toEqual({ ok: false, error });
    expect(subtractChecked(cny(1n), usd(1n))).toEqual({ ok: false, error });
    expect(compareChecked(cny(1n), usd(1n))).toEqual({ ok: false, error });
    expect(sumChecked([cny(1n), usd(1n)], "CNY")).toEqual({ ok: false, error });
    expect(addChecked(cny(1n), cny(2n))).toEqual({ ok: true, value: cny(3n) });
    expect(subtractChecked(cny(1n), cny(2n))).toEqual({ ok: true, value: cny(-1n) });
    expect(compareChecked(cny(1n), cny(2n))).toEqual({ ok: true, value: -1 });
    expect(sumChecked([cny(1n), cny(2n)], "CNY")).toEqual({ ok: true, value: cny(3n) });
  });

  it("refuses every pair of distinct currencies, whatever the amounts (property)", () => {
    const small = fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n });
    const pair = fc
      .tuple(fc.constantFrom(...CURRENCY_CODES), fc.constantFrom(...CURRENCY_CODES))
      .filter(([a, b]) => a !== b);
    fc.assert(
      fc.property(pair, small, small, ([currencyA, currencyB], amountA, amountB) => {
        const a = money(amountA, currencyA);
        const b = money(amountB, currencyB);
        expect(() => add(a, b)).toThrow(CurrencyMismatchError);
        expect(() => subtract(a, b)).toThrow(CurrencyMismatchError);
        expect(() => compare(a, b)).toThrow(CurrencyMismatchError);
        expect(() => sum([a, b], currencyA)).toThrow(CurrencyMismatchError);
        expect(addChecked(a, b)).toEqual({
          ok: false,
          error: { code: "currency_mismatch", expected: currencyA, actual: currencyB },
        });
        expect(sumChecked([a, b], currencyA)).toMatchObject({ ok: false, error: { code: "currency_mismatch" } });
      }),
    );
  });

  it("keeps add/subtract/negate consistent with bigint arithmetic (property)", () => {
    const half = fc.bigInt({ min: INT64_MIN / 2n, max: INT64_MAX / 2n });
    fc.assert(
      fc.property(half, half, (a, b) => {
        expect(subtract(add(cny(a), cny(b)), cny(b))).toEqual(cny(a));
        expect(add(cny(a), negate(cny(a)))).toEqual(zero("CNY"));
        expect(compare(cny(a), cny(b))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });
});
