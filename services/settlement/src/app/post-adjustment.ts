import { ok, type Result } from "@tributary/result";
import { writeEntries, type Queryable } from "../adapters/db/pg-ledger.js";
import { adjustmentEntry, type Adjustment, type AdjustmentError } from "../domain/adjustment-entry.js";
import type { SettlementDeps } from "./ports.js";

/**
 * Posts an approved adjustment through suspense in the caller's transaction; the merchant's next
 * batch with the provider takes it in (`adjustments`). Once per reference.
 */
export async function postAdjustment(
  deps: SettlementDeps,
  tx: Queryable,
  adjustment: Adjustment,
): Promise<Result<{ readonly entryId: string; readonly posted: boolean }, AdjustmentError>> {
  const entry = adjustmentEntry(adjustment, deps.newId());
  if (!entry.ok) return entry;
  const written = await writeEntries(tx, [entry.value]);
  return ok({ entryId: entry.value.entryId, posted: written.has(entry.value.entryId) });
}
