import { money } from "@tributary/money";
import { describe, expect, it } from "vitest";
import { compareExpectedValue, expectedValueOf } from "./expected-value.js";

const cny = (amountMinor: bigint) => money(amountMinor, "CNY");

describe("expectedValueOf", () => {
  it("is success rate × (amount − fee), with the provider's fee rounding", () => {
    // 1299.02 CNY at 0.6 % half_up → fee 7.79; 95 of 100 → 0.95 × 1291.23 = 1226.6685 → 1226.66.
    const ev = expectedValueOf(cny(129_902n), { ratePpm: 6_000n, fixedMinor: 0n, rounding: "half_up" }, { rateSuccesses: 95, rateAttempts: 100 });
    expect(ev).toEqual({ fee: cny(779n), netMinor: 129_123n, numerator: 95n * 129_123n, denominator: 100n, expectedValueMinor: 122_666n });
    const down = expectedValueOf(cny(129_902n), { ratePpm: 6_000n, fixedMinor: 0n, rounding: "down" }, { rateSuccesses: 95, rateAttempts: 100 });
    expect(down.fee).toEqual(cny(779n)); // 7.79412 → 7.79 either way
    expect(expectedValueOf(cny(150n), { ratePpm: 6_000n, fixedMinor: 0n, rounding: "half_up" }, { rateSuccesses: 1, rateAttempts: 1 }).fee).toEqual(cny(1n));
    expect(expectedValueOf(cny(150n), { ratePpm: 6_000n, fixedMinor: 0n, rounding: "down" }, { rateSuccesses: 1, rateAttempts: 1 }).fee).toEqual(cny(0n));
  });

  it("counts a rail with no data and no prior as worthless, not as a perfect one", () => {
    const ev = expectedValueOf(cny(10_000n), { ratePpm: 0n, fixedMinor: 0n, rounding: "half_up" }, { rateSuccesses: 0, rateAttempts: 0 });
    expect(ev.expectedValueMinor).toBe(0n);
  });

  it("compares exactly, where rounding the values would tie", () => {
    const a = expectedValueOf(cny(3n), { ratePpm: 0n, fixedMinor: 0n, rounding: "half_up" }, { rateSuccesses: 1, rateAttempts: 3 }); // 1
    const b = expectedValueOf(cny(3n), { ratePpm: 0n, fixedMinor: 0n, rounding: "half_up" }, { rateSuccesses: 2, rateAttempts: 5 }); // 1.2
    expect(a.expectedValueMinor).toBe(b.expectedValueMinor);
    expect(compareExpectedValue(a, b)).toBe(-1);
    expect(compareExpectedValue(b, a)).toBe(1);
    expect(compareExpectedValue(a, a)).toBe(0);
  });
});
