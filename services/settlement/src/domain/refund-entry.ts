import type { ProviderId } from "@tributary/contracts";
import { err, ok, type Result } from "@tributary/result";
import { money, refundFee, type CurrencyCode, type RoundingMode } from "@tributary/money";
import { accounts } from "./account.js";
import { shanghaiBusinessDate } from "./business-date.js";
import { assertBalanced, nonZero, type EntryDraft } from "./journal-entry.js";

/** What the ledger holds about the payment a refund gives money back from. */
export interface CapturedPayment {
  readonly paymentId: string;
  readonly orderId: string;
  readonly merchantId: string;
  readonly provider: ProviderId;
  readonly providerTransactionId: string | undefined;
  readonly currency: CurrencyCode;
  readonly amountMinor: bigint;
  readonly providerFeeMinor: bigint;
  readonly platformFeeMinor: bigint;
  readonly merchantBearsProviderFee: boolean;
  /** How the provider rounds (its refunds give back fee the same way). */
  readonly providerRounding: RoundingMode;
  /** How the commission rounds. */
  readonly commissionRounding: RoundingMode;
  /** Refunded already (posted) plus reserved by pending refunds not yet voided. */
  readonly refundedOrReservedMinor: bigint;
}

/** A refund, requested (to reserve) or completed (to post). */
export interface Refund {
  readonly eventId: string | undefined;
  readonly refundRef: string;
  readonly amountMinor: bigint;
  readonly currency: CurrencyCode;
  readonly providerRefundId: string | undefined;
  readonly at: Date;
}

/** Why a refund cannot be entered. */
export type RefundEntryError =
  | { readonly code: "refund_exceeds_capture"; readonly message: string }
  | { readonly code: "currency_mismatch"; readonly message: string }
  | { readonly code: "non_positive_refund"; readonly message: string };

/** The source key of a refund's posted entry, and of its reservation. */
export function refundSourceKey(orderId: string, refundRef: string): string {
  return `refund:${orderId}:${refundRef}`;
}

/** The source key of a refund's pending (reserving) entry. */
export function refundReserveSourceKey(orderId: string, refundRef: string): string {
  return `refund_reserve:${orderId}:${refundRef}`;
}

/**
 * The entry a refund posts (or reserves, `phase: "pending"`): the capture's legs reversed for the
 * refunded share, with fees given back proportionally and cumulatively as the provider does
 * (`refundFee`: a full refund in any number of parts returns exactly the original fee):
 *
 * | leg | debit | credit |
 * |---|---|---|
 * | refund | merchant payable r | |
 * | refund_net_of_fee | | provider clearing r − Fr |
 * | provider_fee_returned | | provider fee expense Fr |
 * | provider_fee_recharge_returned (merchant bears it) | provider fee expense Fr | merchant payable Fr |
 * | platform_fee_returned | platform fee revenue Cr | merchant payable Cr |
 *
 * A refund that would take the refunds past the captured amount is refused.
 */
export function refundEntry(
  payment: CapturedPayment,
  refund: Refund,
  options: { readonly entryId: string; readonly phase: "posted" | "pending"; readonly pendingEntryId: string | undefined },
): Result<EntryDraft, RefundEntryError> {
  if (refund.currency !== payment.currency) {
    return err({ code: "currency_mismatch", message: `refund in ${refund.currency}, payment in ${payment.currency}` });
  }
  if (refund.amountMinor <= 0n) {
    return err({ code: "non_positive_refund", message: `refund amount ${refund.amountMinor} is not positive` });
  }
  const before = payment.refundedOrReservedMinor;
  if (before + refund.amountMinor > payment.amountMinor) {
    return err({
      code: "refund_exceeds_capture",
      message: `refund ${refund.refundRef} of ${refund.amountMinor} with ${before} already refunded or reserved exceeds the captured ${payment.amountMinor}`,
    });
  }
  const currency = payment.currency;
  const original = money(payment.amountMinor, currency);
  const refunded = money(refund.amountMinor, currency);
  const already = money(before, currency);
  const feeReturned = refundFee(original, money(payment.providerFeeMinor, currency), refunded, payment.providerRounding, already).amountMinor;
  const commissionReturned = refundFee(original, money(payment.platformFeeMinor, currency), refunded, payment.commissionRounding, already).amountMinor;
  const clearing = accounts.providerClearing(payment.provider, currency);
  const feeExpense = accounts.providerFeeExpense(payment.provider, currency);
  const payable = accounts.merchantPayable(payment.merchantId, currency);
  const revenue = accounts.platformFeeRevenue(currency);
  const r = refund.amountMinor;
  const postings = nonZero([
    { account: payable, amountMinor: r, lineType: "refund" },
    { account: clearing, amountMinor: -(r - feeReturned), lineType: "refund_net_of_fee" },
    { account: feeExpense, amountMinor: -feeReturned, lineType: "provider_fee_returned" },
    ...(payment.merchantBearsProviderFee
      ? ([
          { account: feeExpense, amountMinor: feeReturned, lineType: "provider_fee_recharge_returned" },
          { account: payable, amountMinor: -feeReturned, lineType: "provider_fee_recharge_returned" },
        ] as const)
      : []),
    { account: revenue, amountMinor: commissionReturned, lineType: "platform_fee_returned" },
    { account: payable, amountMinor: -commissionReturned, lineType: "platform_fee_returned" },
  ]);
  const entry: EntryDraft = {
    entryId: options.entryId,
    sourceKey: options.phase === "pending" ? refundReserveSourceKey(payment.orderId, refund.refundRef) : refundSourceKey(payment.orderId, refund.refundRef),
    sourceEventId: refund.eventId,
    entryType: options.phase === "pending" ? "refund_reserved" : "refund_posted",
    phase: options.phase,
    pendingEntryId: options.pendingEntryId,
    paymentId: payment.paymentId,
    orderId: payment.orderId,
    refundRef: refund.refundRef,
    merchantId: payment.merchantId,
    provider: payment.provider,
    providerReference: refund.providerRefundId,
    currency,
    amountMinor: r,
    providerFeeMinor: feeReturned,
    platformFeeMinor: commissionReturned,
    feeRatePpm: undefined,
    reportedFeeMinor: undefined,
    providerFeeRounding: payment.providerRounding,
    platformFeeRounding: payment.commissionRounding,
    merchantBearsProviderFee: payment.merchantBearsProviderFee,
    businessDate: shanghaiBusinessDate(refund.at),
    releaseOn: undefined,
    bookedAt: refund.at,
    memo: "",
    approvedBy: undefined,
    postings,
  };
  assertBalanced(entry);
  return ok(entry);
}
