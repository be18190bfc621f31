import type { ProviderId } from "@tributary/contracts";
import type { FeeSchedule, RoundingMode } from "@tributary/money";

/**
 * One line of a provider's price list: the schedule for payments of a channel and/or a category.
 * A line without `channel` (or `category`) applies to every channel (category).
 */
export interface ProviderFeeRule {
  readonly channel?: string;
  readonly category?: string;
  readonly schedule: FeeSchedule;
}

/** A provider's price list: rules by channel and category, and the schedule when none matches. */
export interface ProviderFeeTerms {
  readonly defaultSchedule: FeeSchedule;
  readonly rules?: readonly ProviderFeeRule[];
}

/**
 * What the platform agreed with one merchant: its commission (a fee schedule of its own, so it
 * rounds as the contract says), who bears the provider's fee, and the rolling reserve.
 */
export interface MerchantTerms {
  readonly commission: FeeSchedule;
  /** True: the provider fee is recharged to the merchant; false: the platform absorbs it. */
  readonly merchantBearsProviderFee: boolean;
  /** Share of each batch's net sales held back, in ppm (50_000 = 5 %); 0 for none. */
  readonly reservePpm: bigint;
  /** How many days a withheld reserve is held before it is released. */
  readonly reserveDays: number;
  /** How the reserve share rounds (a reserve usually rounds down, in the merchant's favour). */
  readonly reserveRounding: RoundingMode;
}

/** The whole fee configuration: contract data, loaded from config, never hard-coded in use cases. */
export interface FeeTerms {
  readonly providers: Readonly<Record<ProviderId, ProviderFeeTerms>>;
  readonly defaultMerchant: MerchantTerms;
  readonly merchants?: Readonly<Record<string, MerchantTerms>>;
  /** Days from business date to payout per provider (T+1 unless told). */
  readonly settlementCycleDays?: Partial<Readonly<Record<ProviderId, number>>>;
}

/** What is known about the payment when its fee is chosen. */
export interface FeeContext {
  readonly provider: ProviderId;
  readonly channel?: string | undefined;
  readonly category?: string | undefined;
}

/**
 * The provider schedule that applies: the most specific matching rule (channel and category
 * beat either alone, which beats neither), earlier rules winning ties; the default otherwise.
 */
export function providerScheduleFor(terms: FeeTerms, context: FeeContext): FeeSchedule {
  const providerTerms = terms.providers[context.provider];
  let best: { readonly score: number; readonly schedule: FeeSchedule } | undefined;
  for (const rule of providerTerms.rules ?? []) {
    if (rule.channel !== undefined && rule.channel !== context.channel) continue;
    if (rule.category !== undefined && rule.category !== context.category) continue;
    const score = (rule.channel === undefined ? 0 : 1) + (rule.category === undefined ? 0 : 1);
    if (best === undefined || score > best.score) best = { score, schedule: rule.schedule };
  }
  return best?.schedule ?? providerTerms.defaultSchedule;
}

/** The merchant's own terms, or the platform default. */
export function merchantTermsFor(terms: FeeTerms, merchantId: string): MerchantTerms {
  return terms.merchants?.[merchantId] ?? terms.defaultMerchant;
}

/** Days between business date and payout for a provider: T+1 by default. */
export function settlementCycleDaysFor(terms: FeeTerms, provider: ProviderId): number {
  return terms.settlementCycleDays?.[provider] ?? 1;
}

/**
 * The providers' public rates, as the sandbox's contract data has them (WeChat Pay, Alipay and
 * JD Pay 0.60 %, UnionPay 0.38 %, e-CNY free; all half-up per transaction to the fen), a 0.50 %
 * platform commission rounded half-up, merchant bears the provider fee, no reserve, T+1.
 */
export const DEFAULT_FEE_TERMS: FeeTerms = {
  providers: {
    alipay: { defaultSchedule: { ratePpm: 6000n, fixedMinor: 0n, rounding: "half_up" } },
    wechat_pay: { defaultSchedule: { ratePpm: 6000n, fixedMinor: 0n, rounding: "half_up" } },
    unionpay: { defaultSchedule: { ratePpm: 3800n, fixedMinor: 0n, rounding: "half_up" } },
    jd_pay: { defaultSchedule: { ratePpm: 6000n, fixedMinor: 0n, rounding: "half_up" } },
    ecny: { defaultSchedule: { ratePpm: 0n, fixedMinor: 0n, rounding: "half_up" } },
  },
  defaultMerchant: {
    commission: { ratePpm: 5000n, fixedMinor: 0n, rounding: "half_up" },
    merchantBearsProviderFee: true,
    reservePpm: 0n,
    reserveDays: 0,
    reserveRounding: "down",
  },
};
