import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocate, allocateEvenly } from "./allocate.js";
import { INT64_MAX, INT64_MIN } from "./int64.js";
import { money, type Money } from "./money.js";

const cny = (amountMinor: bigint): Money => money(amountMinor, "CNY");
const minors = (parts: readonly Money[]): bigint[] => parts.map((part) => part.amountMinor);

describe("allocate", () => {
  it("splits by weight, giving leftover units to the largest remainders", () => {
    // 100 by 1:1:1 → 33.33 each, one leftover unit to the first (ties go to the lower index).
    expect(minors(allocate(cny(100n), [1n, 1n, 1n]))).toEqual([34n, 33n, 33n]);
    // 5 by 3:7 → 1.5 and 3.5 → tie on remainder, lower index wins.
    expect(minors(allocate(cny(5n), [3n, 7n]))).toEqual([2n, 3n]);
    // 10 by 1:2:3:4 → exact.
    expect(minors(allocate(cny(10n), [1n, 2n, 3n, 4n]))).toEqual([1n, 2n, 3n, 4n]);
    // 7 by 1:6 → 1.0 and 6.0 exact; 8 by 1:6 → 1.142.., 6.857.. → the larger remainder (index 1) gets the unit.
    expect(minors(allocate(cny(8n), [1n, 6n]))).toEqual([1n, 7n]);
  });

  it("mirrors positive splits for negative amounts", () => {
    expect(minors(allocate(cny(-100n), [1n, 1n, 1n]))).toEqual([-34n, -33n, -33n]);
    expect(minors(allocate(cny(-8n), [1n, 6n]))).toEqual([-1n, -7n]);
  });

  it("gives zero weights zero and keeps the currency", () => {
    const parts = allocate(money(7n, "JPY"), [0n, 1n, 0n, 1n, 0n]);
    expect(minors(parts)).toEqual([0n, 4n, 0n, 3n, 0n]);
    expect(parts.every((part) => part.currency === "JPY")).toBe(true);
  });

  it("throws on no weights, negative weights or all-zero weights", () => {
    expect(() => allocate(cny(1n), [])).toThrow(RangeError);
    expect(() => allocate(cny(1n), [1n, -1n, 1n])).toThrow(RangeError);
    expect(() => allocate(cny(1n), [0n, 0n])).toThrow(RangeError);
  });

  it("handles the int64 extremes", () => {
    expect(minors(allocate(cny(INT64_MIN), [1n, 1n]))).toEqual([INT64_MIN / 2n, INT64_MIN / 2n]);
    const max = minors(allocate(cny(INT64_MAX), [1n, 1n]));
    expect(max).toEqual([INT64_MAX / 2n + 1n, INT64_MAX / 2n]);
  });

  it("preserves the sum, stays within one unit of the exact share and gives zero weights zero (property)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
        fc.array(fc.bigInt({ min: 0n, max: 1_000_000n }), { minLength: 1, maxLength: 12 }).filter((ws) => ws.some((w) => w > 0n)),
        (amountMinor, weights) => {
          const parts = allocate(cny(amountMinor), weights);
          expect(parts).toHaveLength(weights.length);
          expect(minors(parts).reduce((a, b) => a + b, 0n)).toBe(amountMinor);
          const totalWeight = weights.reduce((a, b) => a + b, 0n);
          parts.forEach((part, i) => {
            const weight = weights[i] ?? 0n;
            if (weight === 0n) expect(part.amountMinor).toBe(0n);
            // |part × W − amount × w| < W, i.e. the part is within one unit of the exact share.
            const gap = part.amountMinor * totalWeight - amountMinor * weight;
            expect(gap < totalWeight && gap > -totalWeight).toBe(true);
            expect(part.currency).toBe("CNY");
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("allocateEvenly", () => {
  it("splits into parts that differ by at most one unit, earlier parts first", () => {
    expect(minors(allocateEvenly(cny(100n), 3))).toEqual([34n, 33n, 33n]);
    expect(minors(allocateEvenly(cny(-2n), 3))).toEqual([-1n, -1n, 0n]);
    expect(minors(allocateEvenly(cny(0n), 2))).toEqual([0n, 0n]);
  });

  it("refuses a part count that is not a positive integer", () => {
    expect(() => allocateEvenly(cny(1n), 0)).toThrow(RangeError);
    expect(() => allocateEvenly(cny(1n), 1.5)).toThrow(RangeError);
  });

  it("sums to the original and parts differ by at most one unit (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), fc.integer({ min: 1, max: 50 }), (amountMinor, count) => {
        const parts = minors(allocateEvenly(cny(amountMinor), count));
        expect(parts.reduce((a, b) => a + b, 0n)).toBe(amountMinor);
        const max = parts.reduce((a, b) => (a > b ? a : b));
        const min = parts.reduce((a, b) => (a < b ? a : b));
        expect(max - min <= 1n).toBe(true);
      }),
    );
  });
});
