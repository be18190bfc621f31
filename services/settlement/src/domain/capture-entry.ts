import type { ProviderId } from "@tributary/contracts";
import { feeFor, type Money } from "@tributary/money";
import { accounts } from "./account.js";
import { shanghaiBusinessDate } from "./business-date.js";
import { merchantTermsFor, providerScheduleFor, type FeeTerms } from "./fee-terms.js";
import { assertBalanced, nonZero, type EntryDraft } from "./journal-entry.js";

/** A captured payment as settlement needs it. */
export interface Capture {
  readonly eventId: string | undefined;
  readonly paymentId: string;
  readonly orderId: string;
  readonly merchantId: string;
  readonly provider: ProviderId;
  readonly providerTransactionId: string | undefined;
  readonly amount: Money;
  /** The fee the provider reported, when it did; kept for review, never posted in place of ours. */
  readonly reportedFee: Money | undefined;
  readonly capturedAt: Date;
  readonly channel?: string | undefined;
  readonly category?: string | undefined;
}

/** The source key of a payment's capture entry: one per payment, whatever the event id. */
export function captureSourceKey(paymentId: string): string {
  return `capture:${paymentId}`;
}

/**
 * The entry a capture posts. With A the amount, F the provider's fee (its schedule, rounded as it
 * rounds) and C the platform's commission (the merchant's terms):
 *
 * | leg | debit | credit |
 * |---|---|---|
 * | payment_net_of_fee | provider clearing A − F | |
 * | provider_fee | provider fee expense F | |
 * | payment | | merchant payable A |
 * | provider_fee_recharge (merchant bears it) | merchant payable F | provider fee expense F |
 * | platform_fee | merchant payable C | platform fee revenue C |
 *
 * so the provider owes A − F, the merchant is owed A − F − C (A − C when the platform bears the
 * fee, leaving F as the platform's expense) and the platform earned C. Zero legs are left out.
 */
export function captureEntry(capture: Capture, terms: FeeTerms, entryId: string): EntryDraft {
  const currency = capture.amount.currency;
  const schedule = providerScheduleFor(terms, capture);
  const merchant = merchantTermsFor(terms, capture.merchantId);
  const amount = capture.amount.amountMinor;
  const providerFee = feeFor(capture.amount, schedule).amountMinor;
  const platformFee = feeFor(capture.amount, merchant.commission).amountMinor;
  const clearing = accounts.providerClearing(capture.provider, currency);
  const feeExpense = accounts.providerFeeExpense(capture.provider, currency);
  const payable = accounts.merchantPayable(capture.merchantId, currency);
  const revenue = accounts.platformFeeRevenue(currency);
  const postings = nonZero([
    { account: clearing, amountMinor: amount - providerFee, lineType: "payment_net_of_fee" },
    { account: feeExpense, amountMinor: providerFee, lineType: "provider_fee" },
    { account: payable, amountMinor: -amount, lineType: "payment" },
    ...(merchant.merchantBearsProviderFee
      ? ([
          { account: payable, amountMinor: providerFee, lineType: "provider_fee_recharge" },
          { account: feeExpense, amountMinor: -providerFee, lineType: "provider_fee_recharge" },
        ] as const)
      : []),
    { account: payable, amountMinor: platformFee, lineType: "platform_fee" },
    { account: revenue, amountMinor: -platformFee, lineType: "platform_fee" },
  ]);
  const entry: EntryDraft = {
    entryId,
    sourceKey: captureSourceKey(capture.paymentId),
    sourceEventId: capture.eventId,
    entryType: "payment_captured",
    phase: "posted",
    pendingEntryId: undefined,
    paymentId: capture.paymentId,
    orderId: capture.orderId,
    refundRef: undefined,
    merchantId: capture.merchantId,
    provider: capture.provider,
    providerReference: capture.providerTransactionId,
    currency,
    amountMinor: amount,
    providerFeeMinor: providerFee,
    platformFeeMinor: platformFee,
    feeRatePpm: schedule.ratePpm,
    reportedFeeMinor: capture.reportedFee?.amountMinor,
    providerFeeRounding: schedule.rounding,
    platformFeeRounding: merchant.commission.rounding,
    merchantBearsProviderFee: merchant.merchantBearsProviderFee,
    businessDate: shanghaiBusinessDate(capture.capturedAt),
    releaseOn: undefined,
    bookedAt: capture.capturedAt,
    memo: "",
    approvedBy: undefined,
    postings,
  };
  assertBalanced(entry);
  return entry;
}
