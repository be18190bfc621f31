import { describe, expect, it } from "vitest";
import { batchTotals, type BatchedEntry } from "./batch-totals.js";
import { DEFAULT_FEE_TERMS } from "./fee-terms.js";
import { addDays, isBusinessDate, shanghaiBusinessDate, shanghaiDayBounds } from "./business-date.js";

const payment = (amountMinor: bigint, fee: bigint, commission: bigint): BatchedEntry => ({ entryType: "payment_captured", amountMinor, providerFeeMinor: fee, platformFeeMinor: commission, merchantBearsProviderFee: true });
const refund = (amountMinor: bigint, fee: bigint, commission: bigint): BatchedEntry => ({ entryType: "refund_posted", amountMinor, providerFeeMinor: fee, platformFeeMinor: commission, merchantBearsProviderFee: true });
const noReserve = { terms: DEFAULT_FEE_TERMS.defaultMerchant, reserveReleasedMinor: 0n, carriedInMinor: 0n };

describe("batchTotals", () => {
  it("nets gross, refunds and fees", () => {
    expect(batchTotals([payment(10000n, 60n, 50n), payment(5000n, 30n, 25n), refund(2000n, 12n, 10n)], noReserve)).toMatchObject({
      paymentCount: 2n, refundCount: 1n, grossMinor: 15000n, refundsMinor: 2000n, providerFeesMinor: 78n, platformFeesMinor: 65n,
      netMinor: 15000n - 2000n - 78n - 65n, payableMinor: 12857n, carriedForwardMinor: 0n,
    });
  });

  it("carries a negative net forward and pays nothing", () => {
    const totals = batchTotals([refund(5000n, 30n, 25n)], { ...noReserve, carriedInMinor: -100n });
    expect(totals).toMatchObject({ netMinor: -5000n + 55n - 100n, payableMinor: 0n, carriedForwardMinor: -5045n });
  });

  it("withholds the reserve only from a positive sales net, rounding as the terms say", () => {
    const terms = { ...DEFAULT_FEE_TERMS.defaultMerchant, reservePpm: 100_000n, reserveRounding: "down" as const };
    expect(batchTotals([payment(999n, 0n, 0n)], { terms, reserveReleasedMinor: 0n, carriedInMinor: 0n }).reserveWithheldMinor).toBe(99n);
    expect(batchTotals([refund(999n, 0n, 0n)], { terms, reserveReleasedMinor: 0n, carriedInMinor: 0n }).reserveWithheldMinor).toBe(0n);
    expect(batchTotals([], { terms, reserveReleasedMinor: 500n, carriedInMinor: 0n })).toMatchObject({ netMinor: 500n, payableMinor: 500n });
  });

  it("refuses a positive carried-in net (a bug upstream)", () => {
    expect(() => batchTotals([], { ...noReserve, carriedInMinor: 1n })).toThrow();
  });
});

describe("business dates in Asia/Shanghai", () => {
  it("cut off at 00:00 +08:00", () => {
    expect(shanghaiBusinessDate(new Date("2026-11-23T15:59:59.999Z"))).toBe("2026-11-23");
    expect(shanghaiBusinessDate(new Date("2026-11-23T16:00:00.000Z"))).toBe("2026-11-24");
    expect(shanghaiDayBounds("2026-11-24")).toEqual({ start: new Date("2026-11-23T16:00:00.000Z"), cutoff: new Date("2026-11-24T16:00:00.000Z") });
  });
  it("validate and add days across month and year ends", () => {
    expect(isBusinessDate("2026-02-29")).toBe(false);
    expect(isBusinessDate("2028-02-29")).toBe(true);
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(() => shanghaiDayBounds("2026-13-01")).toThrow();
  });
});
