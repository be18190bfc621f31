import { err, ok, type Result } from "@tributary/result";
import { refundEntry, refundReserveSourceKey, refundSourceKey, type Refund, type RefundEntryError } from "../domain/refund-entry.js";
import { entryExists, findCapture, findPending, lockPayment, resolvePending, writeEntries, type Queryable } from "../adapters/db/pg-ledger.js";
import { countWritten, type SettlementDeps } from "./ports.js";

/** Why a completed refund could not be posted. */
export type RecordRefundError =
  | RefundEntryError
  | { readonly code: "capture_unknown"; readonly message: string }
  | { readonly code: "reservation_voided"; readonly message: string };

/** What posting did. */
export type RefundRecorded =
  | { readonly outcome: "posted"; readonly entryId: string; readonly pendingEntryId: string | undefined }
  | { readonly outcome: "already_posted" };

/**
 * Posts a refund the provider completed (the second phase): a posted entry with the refund's legs
 * and fees given back, and — when the refund had been reserved — the reservation marked posted by
 * it, so the pending amounts are released in the same transaction. A refund that was never
 * reserved (a capture refund payment-routing made on its own) is posted directly.
 */
export async function recordRefund(
  deps: SettlementDeps,
  tx: Queryable,
  completed: { readonly orderId: string; readonly paymentId: string } & Refund,
): Promise<Result<RefundRecorded, RecordRefundError>> {
  const capture0 = await findCapture(tx, { paymentId: completed.paymentId });
  if (capture0 === undefined) return err({ code: "capture_unknown", message: `no capture recorded for payment ${completed.paymentId}` });
  await lockPayment(tx, completed.paymentId);
  if (await entryExists(tx, refundSourceKey(completed.orderId, completed.refundRef))) return ok({ outcome: "already_posted" });
  const pending = await findPending(tx, refundReserveSourceKey(completed.orderId, completed.refundRef));
  if (pending?.outcome === "voided") {
    return err({ code: "reservation_voided", message: `refund ${completed.refundRef} was voided and cannot be posted` });
  }
  const capture = await findCapture(tx, { paymentId: completed.paymentId });
  if (capture === undefined) throw new Error(`capture of ${completed.paymentId} vanished`);
  // The reservation being posted is part of "refunded or reserved"; the refund replaces it.
  const outstanding = pending !== undefined && pending.outcome === undefined ? pending.amountMinor : 0n;
  const entry = refundEntry(
    { ...capture, refundedOrReservedMinor: capture.refundedOrReservedMinor - outstanding },
    completed,
    { entryId: deps.newId(), phase: "posted", pendingEntryId: pending?.entryId },
  );
  if (!entry.ok) return entry;
  countWritten(deps, [entry.value], await writeEntries(tx, [entry.value]));
  if (pending !== undefined) {
    await resolvePending(tx, {
      pendingEntryId: pending.entryId,
      outcome: "posted",
      resolvingEntryId: entry.value.entryId,
      sourceEventId: completed.eventId,
      reason: "refund completed at the provider",
    });
  }
  return ok({ outcome: "posted", entryId: entry.value.entryId, pendingEntryId: pending?.entryId });
}
