import { err, ok, type Result } from "@tributary/result";
import { refundEntry, refundReserveSourceKey, refundSourceKey, type Refund, type RefundEntryError } from "../domain/refund-entry.js";
import { entryExists, findCapture, lockPayment, writeEntries, type Queryable } from "../adapters/db/pg-ledger.js";
import { countWritten, type SettlementDeps } from "./ports.js";

/** Why a refund could not be reserved. */
export type ReserveRefundError = RefundEntryError | { readonly code: "capture_unknown"; readonly message: string };

/** What reserving did. */
export type RefundReserved =
  | { readonly outcome: "reserved"; readonly entryId: string }
  | { readonly outcome: "already_reserved" }
  | { readonly outcome: "already_posted" };

/**
 * Reserves a requested refund as a pending entry (the first phase of a two-phase transfer): the
 * refund's legs count in pending balances, so the merchant's available balance drops at once,
 * while posted balances change only when the provider confirms. Refused when it would take the
 * refunds past the captured amount, or when the ledger has no capture for the order yet.
 */
export async function reserveRefund(
  deps: SettlementDeps,
  tx: Queryable,
  request: { readonly orderId: string } & Refund,
): Promise<Result<RefundReserved, ReserveRefundError>> {
  const found = await findCapture(tx, { orderId: request.orderId });
  if (found === undefined) return err({ code: "capture_unknown", message: `no capture recorded for order ${request.orderId}` });
  await lockPayment(tx, found.paymentId);
  if (await entryExists(tx, refundSourceKey(request.orderId, request.refundRef))) return ok({ outcome: "already_posted" });
  if (await entryExists(tx, refundReserveSourceKey(request.orderId, request.refundRef))) return ok({ outcome: "already_reserved" });
  // Re-read under the payment's lock: refunds of this payment committed meanwhile count.
  const capture = await findCapture(tx, { paymentId: found.paymentId });
  if (capture === undefined) throw new Error(`capture of ${found.paymentId} vanished`);
  const entry = refundEntry(capture, request, { entryId: deps.newId(), phase: "pending", pendingEntryId: undefined });
  if (!entry.ok) return entry;
  countWritten(deps, [entry.value], await writeEntries(tx, [entry.value]));
  return ok({ outcome: "reserved", entryId: entry.value.entryId });
}
