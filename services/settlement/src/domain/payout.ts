import { err, ok, type Result } from "@tributary/result";
import { accounts } from "./account.js";
import { assertBalanced, type EntryDraft } from "./journal-entry.js";
import type { SettlementBatch } from "./settlement-batch.js";

/** Why a batch cannot be paid out. */
export type PayoutError =
  | { readonly code: "batch_held"; readonly message: string }
  | { readonly code: "batch_not_reconciled"; readonly message: string }
  | { readonly code: "nothing_to_pay"; readonly message: string }
  | { readonly code: "payout_account_missing"; readonly message: string };

/** A payout decided for a batch: what to pay, where to, and who asked. */
export interface PayoutDecision {
  readonly payoutId: string;
  readonly entryId: string;
  readonly batchId: string;
  readonly amountMinor: bigint;
  readonly accountReference: string;
  readonly instructedBy: string;
  readonly instructedAt: Date;
}

/**
 * Decides whether a batch that has no payout yet can be paid: only a reconciled batch (a held one
 * waits for its discrepancies, a closed one for the provider's bill) with a positive payable net
 * (a negative net was carried forward, so there is nothing to pay) to a configured payout account.
 * The amount is the batch's payable — net after the reserve and the carried-in negative net.
 */
export function decidePayout(
  batch: SettlementBatch,
  command: { readonly accountReference: string | undefined; readonly instructedBy: string; readonly at: Date; readonly payoutId: string; readonly entryId: string },
): Result<PayoutDecision, PayoutError> {
  switch (batch.status) {
    case "held":
      return err({ code: "batch_held", message: `batch ${batch.batchId} is held (${batch.discrepancyCount?.toString() ?? "?"} discrepancies); resolve them before paying out` });
    case "closed":
      return err({ code: "batch_not_reconciled", message: `batch ${batch.batchId} is not reconciled yet` });
    case "paid_out":
      // The caller found no payout row, yet the batch says paid out: the two are written together.
      throw new Error(`batch ${batch.batchId} is paid_out without a payout`);
    case "reconciled":
      break;
  }
  if (batch.payableMinor <= 0n) {
    return err({ code: "nothing_to_pay", message: `batch ${batch.batchId} has no payable net (net ${batch.netMinor.toString()}, carried forward ${batch.carriedForwardMinor.toString()})` });
  }
  const accountReference = command.accountReference?.trim() ?? "";
  if (accountReference === "") {
    return err({ code: "payout_account_missing", message: `merchant ${batch.merchantId} has no ${batch.currency} payout account` });
  }
  return ok({
    payoutId: command.payoutId,
    entryId: command.entryId,
    batchId: batch.batchId,
    amountMinor: batch.payableMinor,
    accountReference,
    instructedBy: command.instructedBy,
    instructedAt: command.at,
  });
}

/**
 * The payout's entry: Dr merchant payable / Cr payout clearing, so what we owe the merchant moves
 * to what is on its way to the merchant's account until the bank confirms it (a later entry
 * clears payout clearing). Once per batch (`payout:<batchId>`).
 */
export function payoutEntry(batch: SettlementBatch, payout: PayoutDecision): EntryDraft {
  const entry: EntryDraft = {
    entryId: payout.entryId,
    sourceKey: `payout:${batch.batchId}`,
    sourceEventId: undefined,
    entryType: "payout",
    phase: "posted",
    pendingEntryId: undefined,
    paymentId: undefined,
    orderId: undefined,
    refundRef: undefined,
    merchantId: batch.merchantId,
    provider: batch.provider,
    providerReference: payout.payoutId,
    currency: batch.currency,
    amountMinor: payout.amountMinor,
    providerFeeMinor: 0n,
    platformFeeMinor: 0n,
    feeRatePpm: undefined,
    reportedFeeMinor: undefined,
    providerFeeRounding: undefined,
    platformFeeRounding: undefined,
    merchantBearsProviderFee: true,
    businessDate: batch.businessDate,
    releaseOn: undefined,
    bookedAt: payout.instructedAt,
    memo: `payout of batch ${batch.batchId} to ${payout.accountReference}`,
    approvedBy: payout.instructedBy,
    postings: [
      { account: accounts.merchantPayable(batch.merchantId, batch.currency), amountMinor: payout.amountMinor, lineType: "payout" },
      { account: accounts.payoutClearing(batch.currency), amountMinor: -payout.amountMinor, lineType: "payout" },
    ],
  };
  assertBalanced(entry);
  return entry;
}
