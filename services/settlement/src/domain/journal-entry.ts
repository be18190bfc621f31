import type { ProviderId } from "@tributary/contracts";
import type { CurrencyCode, RoundingMode } from "@tributary/money";
import type { LedgerAccount } from "./account.js";

/** Why an entry exists; reports type every line by it. */
export type EntryType =
  | "payment_captured"
  | "refund_reserved"
  | "refund_posted"
  | "reserve_withheld"
  | "reserve_released"
  | "adjustment"
  | "payout";

/**
 * What a posting line is, for reports: the gross payment, the part of it the provider keeps as its
 * fee, the fee recharged to the merchant, the platform's commission, and their refund mirrors.
 */
export type LineType =
  | "payment"
  | "payment_net_of_fee"
  | "provider_fee"
  | "provider_fee_recharge"
  | "platform_fee"
  | "refund"
  | "refund_net_of_fee"
  | "provider_fee_returned"
  | "provider_fee_recharge_returned"
  | "platform_fee_returned"
  | "reserve_withheld"
  | "reserve_released"
  | "adjustment"
  | "payout";

/** One leg: a debit (positive `amountMinor`) or a credit (negative) on an account. */
export interface PostingDraft {
  readonly account: LedgerAccount;
  readonly amountMinor: bigint;
  readonly lineType: LineType;
}

/**
 * An entry ready to be written. `phase: "pending"` reserves (counts in pending balances only)
 * until a later entry posts it or it is voided, as TigerBeetle's two-phase transfers do.
 */
export interface EntryDraft {
  readonly entryId: string;
  /** Unique per business effect (`capture:<paymentId>`): a second copy of the cause posts nothing. */
  readonly sourceKey: string;
  readonly sourceEventId: string | undefined;
  readonly entryType: EntryType;
  readonly phase: "posted" | "pending";
  /** For an entry that posts a pending one: the pending entry. */
  readonly pendingEntryId: string | undefined;
  readonly paymentId: string | undefined;
  readonly orderId: string | undefined;
  readonly refundRef: string | undefined;
  readonly merchantId: string | undefined;
  readonly provider: ProviderId | undefined;
  readonly providerReference: string | undefined;
  readonly currency: CurrencyCode;
  /** The gross amount of the cause (payment, refund, reserve, adjustment), positive. */
  readonly amountMinor: bigint;
  readonly providerFeeMinor: bigint;
  readonly platformFeeMinor: bigint;
  readonly feeRatePpm: bigint | undefined;
  readonly reportedFeeMinor: bigint | undefined;
  /** How the provider fee and the commission were rounded (their refunds round the same way). */
  readonly providerFeeRounding: RoundingMode | undefined;
  readonly platformFeeRounding: RoundingMode | undefined;
  readonly merchantBearsProviderFee: boolean;
  readonly businessDate: string | undefined;
  readonly releaseOn: string | undefined;
  readonly bookedAt: Date;
  readonly memo: string;
  readonly approvedBy: string | undefined;
  readonly postings: readonly PostingDraft[];
}

/**
 * Crashes on an entry that could never be written: fewer than two legs, a zero leg, a leg in
 * another currency, or legs that do not sum to zero. The database checks the same at commit; this
 * catches the bug where it is made.
 */
export function assertBalanced(entry: EntryDraft): void {
  if (entry.postings.length < 2) throw new Error(`entry ${entry.sourceKey}: fewer than two postings`);
  let total = 0n;
  for (const posting of entry.postings) {
    if (posting.amountMinor === 0n) throw new Error(`entry ${entry.sourceKey}: a zero posting (${posting.lineType})`);
    if (posting.account.currency !== entry.currency) throw new Error(`entry ${entry.sourceKey}: a posting in ${posting.account.currency}`);
    total += posting.amountMinor;
  }
  if (total !== 0n) throw new Error(`entry ${entry.sourceKey}: postings sum to ${total}, not zero`);
}

/** Legs with a zero amount are left out (a 0.01 CNY payment has a zero fee leg). */
export function nonZero(postings: readonly PostingDraft[]): PostingDraft[] {
  return postings.filter((posting) => posting.amountMinor !== 0n);
}
