/**
 * How a quotient that falls between two integers becomes one of them. Providers round fees in
 * different ways, so every rounding in this package names its mode instead of assuming one.
 *
 * - `half_up`: to nearest, ties away from zero (commercial rounding: 0.5 → 1, -0.5 → -1).
 * - `half_even`: to nearest, ties to the even neighbour (banker's rounding: 0.5 → 0, 1.5 → 2).
 * - `half_down`: to nearest, ties toward zero (0.5 → 0, -0.5 → 0).
 * - `down`: toward zero (truncate: 1.9 → 1, -1.9 → -1).
 * - `up`: away from zero (1.1 → 2, -1.1 → -2).
 * - `floor`: toward negative infinity (-1.1 → -2).
 * - `ceiling`: toward positive infinity (-1.9 → -1).
 */
export type RoundingMode = "half_up" | "half_even" | "half_down" | "down" | "up" | "floor" | "ceiling";

/** Every rounding mode, for config validation and property tests. */
export const ROUNDING_MODES: readonly RoundingMode[] = Object.freeze([
  "half_up",
  "half_even",
  "half_down",
  "down",
  "up",
  "floor",
  "ceiling",
]);

/** Narrows config text to a rounding mode. */
export function isRoundingMode(text: string): text is RoundingMode {
  return (ROUNDING_MODES as readonly string[]).includes(text);
}

function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}

/**
 * Divides two integers exactly and rounds the quotient with `mode`. Fee maths, proportional
 * refunds and rate conversions all reduce to this one operation, so it lives here once instead of
 * as ad-hoc `(a * b + 500000n) / 1000000n` tricks that only work for one sign and one mode.
 * A zero denominator is a bug and throws.
 */
export function divideRounded(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  if (denominator === 0n) {
    throw new RangeError("divideRounded: division by zero");
  }
  const quotient = numerator / denominator; // truncated toward zero
  const remainder = numerator % denominator;
  if (remainder === 0n) {
    return quotient;
  }
  // The sign of the exact (non-integer) quotient; `quotient + sign` is the neighbour away from zero.
  const sign = numerator < 0n !== denominator < 0n ? -1n : 1n;
  const awayFromZero = quotient + sign;
  const twiceRemainder = 2n * abs(remainder);
  const divisor = abs(denominator);
  switch (mode) {
    case "down":
      return quotient;
    case "up":
      return awayFromZero;
    case "floor":
      return sign < 0n ? awayFromZero : quotient;
    case "ceiling":
      return sign > 0n ? awayFromZero : quotient;
    case "half_up":
      return twiceRemainder >= divisor ? awayFromZero : quotient;
    case "half_down":
      return twiceRemainder > divisor ? awayFromZero : quotient;
    case "half_even":
      if (twiceRemainder !== divisor) {
        return twiceRemainder > divisor ? awayFromZero : quotient;
      }
      return quotient % 2n === 0n ? quotient : awayFromZero;
  }
}
