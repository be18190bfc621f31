import { refundReserveSourceKey } from "../domain/refund-entry.js";
import { findCapture, findPending, lockPayment, resolvePending, type Queryable } from "../adapters/db/pg-ledger.js";

/** What voiding did. */
export type RefundVoided =
  | { readonly outcome: "voided"; readonly pendingEntryId: string }
  | { readonly outcome: "nothing_reserved" }
  | { readonly outcome: "already_resolved"; readonly resolution: "posted" | "voided" };

/**
 * Voids a refund's reservation when the provider refused or failed the refund: its pending legs
 * stop counting and the merchant's available balance is whole again. No posting is written or
 * removed; the reservation keeps its rows and gets a `voided` resolution.
 */
export async function voidRefund(
  tx: Queryable,
  failed: { readonly orderId: string; readonly refundRef: string; readonly eventId: string | undefined; readonly reason: string },
): Promise<RefundVoided> {
  const capture = await findCapture(tx, { orderId: failed.orderId });
  if (capture !== undefined) await lockPayment(tx, capture.paymentId);
  const pending = await findPending(tx, refundReserveSourceKey(failed.orderId, failed.refundRef));
  if (pending === undefined) return { outcome: "nothing_reserved" };
  if (pending.outcome !== undefined) return { outcome: "already_resolved", resolution: pending.outcome };
  await resolvePending(tx, {
    pendingEntryId: pending.entryId,
    outcome: "voided",
    resolvingEntryId: undefined,
    sourceEventId: failed.eventId,
    reason: failed.reason,
  });
  return { outcome: "voided", pendingEntryId: pending.entryId };
}
