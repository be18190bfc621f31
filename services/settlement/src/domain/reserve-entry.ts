import type { ProviderId } from "@tributary/contracts";
import type { CurrencyCode } from "@tributary/money";
import { accounts } from "./account.js";
import { assertBalanced, type EntryDraft } from "./journal-entry.js";

interface ReserveBase {
  readonly entryId: string;
  readonly merchantId: string;
  readonly provider: ProviderId;
  readonly currency: CurrencyCode;
  readonly amountMinor: bigint;
  readonly businessDate: string;
  readonly bookedAt: Date;
}

function reserveEntry(base: ReserveBase, kind: "reserve_withheld" | "reserve_released", sourceKey: string, releaseOn: string | undefined): EntryDraft {
  const payable = accounts.merchantPayable(base.merchantId, base.currency);
  const reserve = accounts.merchantReserve(base.merchantId, base.currency);
  const withheld = kind === "reserve_withheld";
  const entry: EntryDraft = {
    entryId: base.entryId,
    sourceKey,
    sourceEventId: undefined,
    entryType: kind,
    phase: "posted",
    pendingEntryId: undefined,
    paymentId: undefined,
    orderId: undefined,
    refundRef: undefined,
    merchantId: base.merchantId,
    provider: base.provider,
    providerReference: undefined,
    currency: base.currency,
    amountMinor: base.amountMinor,
    providerFeeMinor: 0n,
    platformFeeMinor: 0n,
    feeRatePpm: undefined,
    reportedFeeMinor: undefined,
    providerFeeRounding: undefined,
    platformFeeRounding: undefined,
    merchantBearsProviderFee: true,
    businessDate: base.businessDate,
    releaseOn,
    bookedAt: base.bookedAt,
    memo: withheld ? `rolling reserve until ${releaseOn ?? "?"}` : "rolling reserve released",
    approvedBy: undefined,
    postings: [
      { account: withheld ? payable : reserve, amountMinor: base.amountMinor, lineType: kind },
      { account: withheld ? reserve : payable, amountMinor: -base.amountMinor, lineType: kind },
    ],
  };
  assertBalanced(entry);
  return entry;
}

/** Moves a batch's rolling reserve from the merchant's payable to its reserve until `releaseOn`. */
export function reserveWithheldEntry(base: ReserveBase & { readonly batchId: string; readonly releaseOn: string }): EntryDraft {
  return reserveEntry(base, "reserve_withheld", `reserve_withhold:${base.batchId}`, base.releaseOn);
}

/** Gives a withheld reserve back to the merchant's payable; once per withholding. */
export function reserveReleasedEntry(base: ReserveBase & { readonly withheldEntryId: string }): EntryDraft {
  return reserveEntry(base, "reserve_released", `reserve_release:${base.withheldEntryId}`, undefined);
}
