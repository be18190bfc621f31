import type { ProviderId } from "@tributary/contracts";
import { err, ok, type Result } from "@tributary/result";
import type { CurrencyCode } from "@tributary/money";
import { accounts } from "./account.js";
import { shanghaiBusinessDate } from "./business-date.js";
import { assertBalanced, type EntryDraft } from "./journal-entry.js";

/** An approved correction of a merchant's takings, e.g. settling a reconciliation difference. */
export interface Adjustment {
  /** Unique per correction (a discrepancy's event id, a ticket number): posting it twice does nothing. */
  readonly reference: string;
  readonly merchantId: string;
  readonly provider: ProviderId;
  readonly currency: CurrencyCode;
  /** Signed from the merchant's side: positive credits the merchant, negative debits it. */
  readonly amountMinor: bigint;
  readonly reason: string;
  readonly approvedBy: string;
  readonly at: Date;
}

/** Why an adjustment cannot be entered. */
export type AdjustmentError =
  | { readonly code: "reason_required"; readonly message: string }
  | { readonly code: "approver_required"; readonly message: string }
  | { readonly code: "zero_adjustment"; readonly message: string };

/**
 * The entry of an approved adjustment, through suspense: a credit to the merchant is
 * Dr suspense / Cr merchant payable, a debit the reverse. Suspense holds the difference until the
 * provider's side is settled (a provider adjustment, a write-off) by another entry. Without a
 * reason and an approver there is no adjustment.
 */
export function adjustmentEntry(adjustment: Adjustment, entryId: string): Result<EntryDraft, AdjustmentError> {
  if (adjustment.reason.trim() === "") return err({ code: "reason_required", message: "an adjustment needs its reason" });
  if (adjustment.approvedBy.trim() === "") return err({ code: "approver_required", message: "an adjustment needs the approver" });
  if (adjustment.amountMinor === 0n) return err({ code: "zero_adjustment", message: "an adjustment of zero changes nothing" });
  const payable = accounts.merchantPayable(adjustment.merchantId, adjustment.currency);
  const suspense = accounts.suspense(adjustment.currency);
  const entry: EntryDraft = {
    entryId,
    sourceKey: `adjustment:${adjustment.reference}`,
    sourceEventId: undefined,
    entryType: "adjustment",
    phase: "posted",
    pendingEntryId: undefined,
    paymentId: undefined,
    orderId: undefined,
    refundRef: undefined,
    merchantId: adjustment.merchantId,
    provider: adjustment.provider,
    providerReference: adjustment.reference,
    currency: adjustment.currency,
    amountMinor: adjustment.amountMinor,
    providerFeeMinor: 0n,
    platformFeeMinor: 0n,
    feeRatePpm: undefined,
    reportedFeeMinor: undefined,
    providerFeeRounding: undefined,
    platformFeeRounding: undefined,
    merchantBearsProviderFee: true,
    businessDate: shanghaiBusinessDate(adjustment.at),
    releaseOn: undefined,
    bookedAt: adjustment.at,
    memo: adjustment.reason,
    approvedBy: adjustment.approvedBy,
    postings: [
      { account: suspense, amountMinor: adjustment.amountMinor, lineType: "adjustment" },
      { account: payable, amountMinor: -adjustment.amountMinor, lineType: "adjustment" },
    ],
  };
  assertBalanced(entry);
  return ok(entry);
}
