import { Int64OverflowError } from "./errors.js";

/** The smallest signed 64-bit integer: the floor of every amount we store (`int64` in proto). */
export const INT64_MIN = -(2n ** 63n);

/** The largest signed 64-bit integer: the ceiling of every amount we store. */
export const INT64_MAX = 2n ** 63n - 1n;

/** Tells whether a bigint fits the `int64` columns and fields that carry our amounts. */
export function isInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}

/** Crashes when an internal result leaves the int64 range; returns the value otherwise. */
export function assertInt64(value: bigint, operation: string): bigint {
  if (!isInt64(value)) {
    throw new Int64OverflowError(value, operation);
  }
  return value;
}
