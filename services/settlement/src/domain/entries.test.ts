import fc from "fast-check";
import { money } from "@tributary/money";
import { describe, expect, it } from "vitest";
import { captureEntry, type Capture } from "./capture-entry.js";
import { DEFAULT_FEE_TERMS, providerScheduleFor, type FeeTerms } from "./fee-terms.js";
import { refundEntry, type CapturedPayment } from "./refund-entry.js";
import { assertBalanced, type EntryDraft } from "./journal-entry.js";
import { accountIdOf } from "./account.js";

const capture = (amountMinor: bigint, overrides: Partial<Capture> = {}): Capture => ({
  eventId: "e-1",
  paymentId: "pay-1",
  orderId: "order-1",
  merchantId: "m-1",
  provider: "wechat_pay",
  providerTransactionId: "wx-1",
  amount: money(amountMinor, "CNY"),
  reportedFee: undefined,
  capturedAt: new Date("2026-11-20T02:00:00.000Z"),
  ...overrides,
});

function sumsByAccount(entries: readonly EntryDraft[]): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const entry of entries) for (const p of entry.postings) sums.set(accountIdOf(p.account), (sums.get(accountIdOf(p.account)) ?? 0n) + p.amountMinor);
  return sums;
}

function asPayment(entry: EntryDraft, refundedOrReservedMinor: bigint): CapturedPayment {
  return {
    paymentId: entry.paymentId!,
    orderId: entry.orderId!,
    merchantId: entry.merchantId!,
    provider: entry.provider!,
    providerTransactionId: entry.providerReference,
    currency: entry.currency,
    amountMinor: entry.amountMinor,
    providerFeeMinor: entry.providerFeeMinor,
    platformFeeMinor: entry.platformFeeMinor,
    merchantBearsProviderFee: entry.merchantBearsProviderFee,
    providerRounding: entry.providerFeeRounding!,
    commissionRounding: entry.platformFeeRounding!,
    refundedOrReservedMinor,
  };
}

describe("captureEntry", () => {
  it("books 1299.02 CNY on WeChat Pay at 0.60 % half-up (7.79) and a 0.50 % commission (6.50), on its Shanghai business date", () => {
    const entry = captureEntry(capture(129902n), DEFAULT_FEE_TERMS, "entry-1");
    expect(entry).toMatchObject({ providerFeeMinor: 779n, platformFeeMinor: 650n, businessDate: "2026-11-20", sourceKey: "capture:pay-1", feeRatePpm: 6000n });
    const sums = sumsByAccount([entry]);
    expect(sums.get("merchant_payable:m-1:CNY")).toBe(-(129902n - 779n - 650n));
    expect(sums.get("provider_clearing:wechat_pay:CNY")).toBe(129902n - 779n);
    expect(sums.get("provider_fee_expense:wechat_pay:CNY")).toBe(0n);
    expect(sums.get("platform_fee_revenue:CNY")).toBe(-650n);
  });

  it("leaves the provider fee with the platform when the merchant does not bear it", () => {
    const terms: FeeTerms = { ...DEFAULT_FEE_TERMS, merchants: { "m-1": { ...DEFAULT_FEE_TERMS.defaultMerchant, merchantBearsProviderFee: false } } };
    const sums = sumsByAccount([captureEntry(capture(129902n), terms, "entry-1")]);
    expect(sums.get("merchant_payable:m-1:CNY")).toBe(-(129902n - 650n));
    expect(sums.get("provider_fee_expense:wechat_pay:CNY")).toBe(779n);
  });

  it("dates 23:59:59.999 and 00:00:00.000 Asia/Shanghai on different business dates", () => {
    expect(captureEntry(capture(100n, { capturedAt: new Date("2026-11-20T15:59:59.999Z") }), DEFAULT_FEE_TERMS, "a").businessDate).toBe("2026-11-20");
    expect(captureEntry(capture(100n, { capturedAt: new Date("2026-11-20T16:00:00.000Z") }), DEFAULT_FEE_TERMS, "b").businessDate).toBe("2026-11-21");
  });
});

describe("fee schedules by channel and category", () => {
  const terms: FeeTerms = {
    ...DEFAULT_FEE_TERMS,
    providers: {
      ...DEFAULT_FEE_TERMS.providers,
      alipay: {
        defaultSchedule: { ratePpm: 6000n, fixedMinor: 0n, rounding: "half_up" },
        rules: [
          { channel: "app", schedule: { ratePpm: 5500n, fixedMinor: 0n, rounding: "half_up" } },
          { category: "charity", schedule: { ratePpm: 0n, fixedMinor: 0n, rounding: "half_up" } },
          { channel: "app", category: "games", schedule: { ratePpm: 10000n, fixedMinor: 10n, rounding: "up" } },
        ],
      },
    },
  };
  it("picks the most specific matching rule, else the default", () => {
    expect(providerScheduleFor(terms, { provider: "alipay", channel: "app", category: "games" }).ratePpm).toBe(10000n);
    expect(providerScheduleFor(terms, { provider: "alipay", channel: "app", category: "books" }).ratePpm).toBe(5500n);
    expect(providerScheduleFor(terms, { provider: "alipay", channel: "web", category: "charity" }).ratePpm).toBe(0n);
    expect(providerScheduleFor(terms, { provider: "alipay" }).ratePpm).toBe(6000n);
    // 1.00 % of 12.34 rounded up = 0.13, plus a fixed 0.10
    expect(captureEntry(capture(1234n, { provider: "alipay", channel: "app", category: "games" }), terms, "x").providerFeeMinor).toBe(23n);
  });
});

describe("refundEntry", () => {
  it("refuses a refund past the captured amount, counting what is reserved", () => {
    const entry = captureEntry(capture(1000n), DEFAULT_FEE_TERMS, "c");
    const refund = { eventId: undefined, refundRef: "r", amountMinor: 600n, currency: "CNY" as const, providerRefundId: undefined, at: new Date() };
    expect(refundEntry(asPayment(entry, 500n), refund, { entryId: "r1", phase: "posted", pendingEntryId: undefined })).toMatchObject({ ok: false, error: { code: "refund_exceeds_capture" } });
    expect(refundEntry(asPayment(entry, 400n), refund, { entryId: "r1", phase: "posted", pendingEntryId: undefined }).ok).toBe(true);
    expect(refundEntry(asPayment(entry, 0n), { ...refund, amountMinor: 0n }, { entryId: "r1", phase: "posted", pendingEntryId: undefined })).toMatchObject({ ok: false, error: { code: "non_positive_refund" } });
    expect(refundEntry(asPayment(entry, 0n), { ...refund, currency: "USD" }, { entryId: "r1", phase: "posted", pendingEntryId: undefined })).toMatchObject({ ok: false, error: { code: "currency_mismatch" } });
  });

  it("property: any capture refunded in any split balances every entry, and the refunds give back exactly the fee and commission", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10_000_000_00n }),
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom("alipay", "wechat_pay", "unionpay", "jd_pay", "ecny" as const),
        fc.boolean(),
        (amountMinor, weights, provider, bears) => {
          const terms: FeeTerms = { ...DEFAULT_FEE_TERMS, merchants: { "m-1": { ...DEFAULT_FEE_TERMS.defaultMerchant, merchantBearsProviderFee: bears } } };
          const entry = captureEntry(capture(amountMinor, { provider }), terms, "c");
          const total = weights.reduce((a, b) => a + b, 0);
          // Split the whole amount into parts by weight, the last takes the remainder.
          const parts: bigint[] = [];
          let left = amountMinor;
          for (const [i, w] of weights.entries()) {
            const part = i === weights.length - 1 ? left : (amountMinor * BigInt(w)) / BigInt(total);
            if (part > 0n) parts.push(part);
            left -= part;
          }
          const refunds: EntryDraft[] = [];
          let refunded = 0n;
          for (const [i, part] of parts.entries()) {
            const result = refundEntry(asPayment(entry, refunded), { eventId: undefined, refundRef: `r${i}`, amountMinor: part, currency: "CNY", providerRefundId: undefined, at: new Date() }, { entryId: `r${i}`, phase: "posted", pendingEntryId: undefined });
            if (!result.ok) throw new Error(result.error.message);
            assertBalanced(result.value);
            refunds.push(result.value);
            refunded += part;
          }
          expect(refunds.reduce((s, r) => s + r.providerFeeMinor, 0n)).toBe(entry.providerFeeMinor);
          expect(refunds.reduce((s, r) => s + r.platformFeeMinor, 0n)).toBe(entry.platformFeeMinor);
          // Fully refunded: every account is back to zero.
          for (const sum of sumsByAccount([entry, ...refunds]).values()) expect(sum).toBe(0n);
        },
      ),
      { numRuns: 300 },
    );
  });
});
