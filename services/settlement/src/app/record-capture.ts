import { captureEntry, type Capture } from "../domain/capture-entry.js";
import { orderContexts, type OrderContext } from "../adapters/db/pg-order-context.js";
import { writeEntries, type Queryable } from "../adapters/db/pg-ledger.js";

/**
 * The capture with the channel and category its order was accepted with, unless the capture says
 * them itself. Without a known order (its OrderAccepted not seen yet) the provider's default
 * schedule applies.
 */
export function withContext(capture: Capture, context: OrderContext | undefined): Capture {
  if (context === undefined) return capture;
  return { ...capture, channel: capture.channel ?? context.channel, category: capture.category ?? context.category };
}
import { countWritten, type SettlementDeps } from "./ports.js";

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
  const context = (await orderContexts(tx, [capture.orderId])).get(capture.orderId);
  const entry = captureEntry(withContext(capture, context), deps.terms, deps.newId());
  const written = await writeEntries(tx, [entry]);
  countWritten(deps, [entry], written);
  return { entryId: entry.entryId, posted: written.has(entry.entryId) };
}
