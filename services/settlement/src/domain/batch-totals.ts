import { divideRounded, PPM_PER_UNIT } from "@tributary/money";
import type { MerchantTerms } from "./fee-terms.js";

/** One ledger entry as a batch counts it. */
export interface BatchedEntry {
  readonly entryType: "payment_captured" | "refund_posted" | "adjustment";
  readonly amountMinor: bigint;
  readonly providerFeeMinor: bigint;
  readonly platformFeeMinor: bigint;
  readonly merchantBearsProviderFee: boolean;
}

/** A merchant's batch for one provider and business date, in minor units of one currency. */
export interface BatchTotals {
  readonly paymentCount: bigint;
  readonly refundCount: bigint;
  readonly grossMinor: bigint;
  readonly refundsMinor: bigint;
  /** Provider fees net of fees returned on refunds (whoever bears them). */
  readonly providerFeesMinor: bigint;
  /** The part of the provider fees recharged to the merchant. */
  readonly merchantProviderFeesMinor: bigint;
  readonly platformFeesMinor: bigint;
  /** Signed: credits to the merchant positive. */
  readonly adjustmentsMinor: bigint;
  readonly reserveWithheldMinor: bigint;
  readonly reserveReleasedMinor: bigint;
  /** The negative net carried in from the merchant's previous batch with this provider (≤ 0). */
  readonly carriedInMinor: bigint;
  /** gross − refunds − merchant's provider fees − platform fees + adjustments − withheld + released + carried in. */
  readonly netMinor: bigint;
  /** What is paid out: the net when positive, else zero. */
  readonly payableMinor: bigint;
  /** The net when negative (carried to the next batch), else zero. */
  readonly carriedForwardMinor: bigint;
}

/**
 * Totals a batch from its entries: counts, gross, refunds, fees, adjustments, the rolling reserve
 * (a share of the day's positive sales net, rounded as the merchant's terms say, held back) and the
 * reserves released today, plus the negative net carried in. A negative net is never debited from
 * the merchant: it is carried forward to the next batch, and nothing is paid out.
 */
export function batchTotals(
  entries: readonly BatchedEntry[],
  options: { readonly terms: MerchantTerms; readonly reserveReleasedMinor: bigint; readonly carriedInMinor: bigint },
): BatchTotals {
  if (options.carriedInMinor > 0n) throw new Error(`carried-in net must not be positive, got ${options.carriedInMinor}`);
  let paymentCount = 0n;
  let refundCount = 0n;
  let gross = 0n;
  let refunds = 0n;
  let providerFees = 0n;
  let merchantProviderFees = 0n;
  let platformFees = 0n;
  let adjustments = 0n;
  for (const entry of entries) {
    switch (entry.entryType) {
      case "payment_captured":
        paymentCount += 1n;
        gross += entry.amountMinor;
        providerFees += entry.providerFeeMinor;
        if (entry.merchantBearsProviderFee) merchantProviderFees += entry.providerFeeMinor;
        platformFees += entry.platformFeeMinor;
        break;
      case "refund_posted":
        refundCount += 1n;
        refunds += entry.amountMinor;
        providerFees -= entry.providerFeeMinor;
        if (entry.merchantBearsProviderFee) merchantProviderFees -= entry.providerFeeMinor;
        platformFees -= entry.platformFeeMinor;
        break;
      case "adjustment":
        adjustments += entry.amountMinor;
        break;
    }
  }
  const salesNet = gross - refunds - merchantProviderFees - platformFees + adjustments;
  const reserveWithheld =
    salesNet > 0n && options.terms.reservePpm > 0n ? divideRounded(salesNet * options.terms.reservePpm, PPM_PER_UNIT, options.terms.reserveRounding) : 0n;
  const net = salesNet - reserveWithheld + options.reserveReleasedMinor + options.carriedInMinor;
  return {
    paymentCount,
    refundCount,
    grossMinor: gross,
    refundsMinor: refunds,
    providerFeesMinor: providerFees,
    merchantProviderFeesMinor: merchantProviderFees,
    platformFeesMinor: platformFees,
    adjustmentsMinor: adjustments,
    reserveWithheldMinor: reserveWithheld,
    reserveReleasedMinor: options.reserveReleasedMinor,
    carriedInMinor: options.carriedInMinor,
    netMinor: net,
    payableMinor: net > 0n ? net : 0n,
    carriedForwardMinor: net < 0n ? net : 0n,
  };
}
