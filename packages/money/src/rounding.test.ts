import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { divideRounded, ROUNDING_MODES, type RoundingMode } from "./rounding.js";

/**
 * Reference rounding by a different route: find the two integers around n/d by stepping from a
 * float estimate (inputs are small, so the float is close), then choose by comparing distances
 * with exact integer cross-multiplication.
 */
function referenceRound(n: bigint, d: bigint, mode: RoundingMode): bigint {
  if (d < 0n) return referenceRound(-n, -d, mode);
  let lower = BigInt(Math.floor(Number(n) / Number(d)));
  while (lower * d > n) lower -= 1n;
  while ((lower + 1n) * d <= n) lower += 1n;
  const upper = lower + 1n;
  if (lower * d === n) return lower;
  const towardZero = lower >= 0n ? lower : upper;
  const awayFromZero = lower >= 0n ? upper : lower;
  const distLower = n - lower * d; // d × (n/d − lower)
  const distUpper = upper * d - n;
  const nearest = distLower < distUpper ? lower : distUpper < distLower ? upper : undefined;
  switch (mode) {
    case "floor":
      return lower;
    case "ceiling":
      return upper;
    case "down":
      return towardZero;
    case "up":
      return awayFromZero;
    case "half_up":
      return nearest ?? awayFromZero;
    case "half_down":
      return nearest ?? towardZero;
    case "half_even":
      return nearest ?? (lower % 2n === 0n ? lower : upper);
  }
}

describe("divideRounded", () => {
  it.each([
    // [n, d, mode, expected]
    [5n, 2n, "half_up", 3n],
    [-5n, 2n, "half_up", -3n],
    [5n, 2n, "half_down", 2n],
    [-5n, 2n, "half_down", -2n],
    [5n, 2n, "half_even", 2n],
    [7n, 2n, "half_even", 4n],
    [-7n, 2n, "half_even", -4n],
    [19n, 10n, "down", 1n],
    [-19n, 10n, "down", -1n],
    [11n, 10n, "up", 2n],
    [-11n, 10n, "up", -2n],
    [-11n, 10n, "floor", -2n],
    [-19n, 10n, "ceiling", -1n],
    [11n, 10n, "ceiling", 2n],
    [11n, -10n, "floor", -2n],
    [779412n, 1_000_000n, "half_up", 1n],
    [6n, 3n, "up", 2n],
  ] as const)("%s / %s %s → %s", (n, d, mode, expected) => {
    expect(divideRounded(n, d, mode)).toBe(expected);
  });

  it("refuses a zero denominator", () => {
    expect(() => divideRounded(1n, 0n, "half_up")).toThrow(RangeError);
  });

  it("matches a reference computed by bracketing, for every mode and sign", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -1_000_000n, max: 1_000_000n }),
        fc.bigInt({ min: -1000n, max: 1000n }).filter((d) => d !== 0n),
        fc.constantFrom(...ROUNDING_MODES),
        (n, d, mode) => {
          expect(divideRounded(n, d, mode)).toBe(referenceRound(n, d, mode));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
