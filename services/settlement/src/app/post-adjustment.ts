import { err, ok, type Result } from "@tributary/result";
import { writeEntries, type Queryable } from "../adapters/db/pg-ledger.js";
import { adjustmentEntry, type Adjustment, type AdjustmentError } from "../domain/adjustment-entry.js";
import { countWritten, type SettlementDeps } from "./ports.js";

/** Why an adjustment is refused: the entry's own checks, or its reference already used for another adjustment. */
export type PostAdjustmentError = AdjustmentError | { readonly code: "adjustment_conflict"; readonly message: string };

/**
 * Posts an approved adjustment through suspense in the caller's transaction; the merchant's next
 * batch with the provider takes it in (`adjustments`). Once per reference: a repeat of the same
 * adjustment returns the entry posted the first time (`posted: false`); the same reference with
 * another merchant, provider or amount is a conflict, never silently the first one.
 */
export async function postAdjustment(
  deps: SettlementDeps,
  tx: Queryable,
  adjustment: Adjustment,
): Promise<Result<{ readonly entryId: string; readonly posted: boolean; readonly approvedBy: string }, PostAdjustmentError>> {
  const entry = adjustmentEntry(adjustment, deps.newId());
  if (!entry.ok) return entry;
  const written = await writeEntries(tx, [entry.value]);
  countWritten(deps, [entry.value], written);
  if (written.has(entry.value.entryId)) return ok({ entryId: entry.value.entryId, posted: true, approvedBy: adjustment.approvedBy });
  const { rows } = await tx.query<{ entry_id: string; merchant_id: string | null; provider: string | null; currency: string; amount_minor: string; approved_by: string | null }>(
    `SELECT e.entry_id, e.merchant_id, e.provider, e.currency, p.amount_minor, e.approved_by
       FROM journal_entry e JOIN ledger_posting p ON p.entry_id = e.entry_id AND p.line_no = 1
      WHERE e.source_key = $1`,
    [entry.value.sourceKey],
  );
  const first = rows[0];
  if (first === undefined) throw new Error(`adjustment ${adjustment.reference}: the insert skipped it but no entry has its source key`);
  const same =
    first.merchant_id === adjustment.merchantId && first.provider === adjustment.provider && first.currency === adjustment.currency && BigInt(first.amount_minor) === adjustment.amountMinor;
  if (!same) return err({ code: "adjustment_conflict", message: `adjustment ${adjustment.reference} was posted before with other terms (entry ${first.entry_id})` });
  return ok({ entryId: first.entry_id, posted: false, approvedBy: first.approved_by ?? "" });
}
