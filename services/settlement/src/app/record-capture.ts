import { captureEntry, type Capture } from "../domain/capture-entry.js";
import { writeEntries, type Queryable } from "../adapters/db/pg-ledger.js";
import type { SettlementDeps } from "./ports.js";

/** What recording a capture did. */
export interface CaptureRecorded {
  readonly entryId: string;
  /** False when the payment's capture had been posted already (another event id, same payment). */
  readonly posted: boolean;
}

/**
 * Posts a captured payment's entry in the caller's transaction: gross to the merchant, the
 * provider's fee by its schedule and rounding, the platform's commission. A payment is posted once
 * whatever its event ids (unique source key `capture:<paymentId>`).
 */
export async function recordCapture(deps: SettlementDeps, tx: Queryable, capture: Capture): Promise<CaptureRecorded> {
  const entry = captureEntry(capture, deps.terms, deps.newId());
  const written = await writeEntries(tx, [entry]);
  return { entryId: entry.entryId, posted: written.has(entry.entryId) };
}
