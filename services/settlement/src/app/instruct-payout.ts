import { err, ok, type Result } from "@tributary/result";
import type { PoolClient } from "pg";
import { getBatch, updateBatchStatus } from "../adapters/db/pg-batches.js";
import { writeEntries } from "../adapters/db/pg-ledger.js";
import { insertPayout, payoutAccountOf, payoutOfBatch, type StoredPayout } from "../adapters/db/pg-payouts.js";
import { appendPayoutInstructed } from "../adapters/kafka/settlement-outbox.js";
import { decidePayout, payoutEntry, type PayoutError } from "../domain/payout.js";
import type { SettlementBatch } from "../domain/settlement-batch.js";
import { countWritten, type SettlementDeps } from "./ports.js";

/** Why a payout is refused, including a batch that does not exist. */
export type InstructPayoutError = PayoutError | { readonly code: "batch_not_found"; readonly message: string };

/** The batch's payout; `alreadyInstructed` when an earlier call made it and this one changed nothing. */
export interface PayoutInstructed {
  readonly batch: SettlementBatch;
  readonly payout: StoredPayout;
  readonly alreadyInstructed: boolean;
}

/**
 * Pays out a reconciled batch, in the caller's transaction: under the batch's row lock (so two
 * instances instructing at once pay once), the payable net moves from merchant payable to payout
 * clearing, the payout is recorded, the batch becomes `paid_out` and `PayoutInstructed` goes to the
 * outbox. A batch already paid out returns its payout and publishes nothing. `mayAct` is the
 * caller's merchant binding: a batch it may not see is not found.
 */
export async function instructPayout(
  deps: SettlementDeps,
  tx: PoolClient,
  command: { readonly batchId: string; readonly instructedBy: string; readonly mayAct: (merchantId: string) => boolean },
): Promise<Result<PayoutInstructed, InstructPayoutError>> {
  const batch = await getBatch(tx, command.batchId, { forUpdate: true });
  if (batch === undefined || !command.mayAct(batch.merchantId)) return err({ code: "batch_not_found", message: `no batch ${command.batchId}` });
  const existing = await payoutOfBatch(tx, batch.batchId);
  if (existing !== undefined) return ok({ batch, payout: existing, alreadyInstructed: true });
  const decided = decidePayout(batch, {
    accountReference: await payoutAccountOf(tx, batch.merchantId, batch.currency),
    instructedBy: command.instructedBy,
    at: deps.clock(),
    payoutId: deps.newId(),
    entryId: deps.newId(),
  });
  if (!decided.ok) return decided;
  const payout: StoredPayout = { ...decided.value, merchantId: batch.merchantId, currency: batch.currency };
  const entry = payoutEntry(batch, decided.value);
  const written = await writeEntries(tx, [entry]);
  countWritten(deps, [entry], written);
  // The batch row is locked and had no payout row, so its payout entry cannot exist yet.
  if (!written.has(entry.entryId)) throw new Error(`payout entry of batch ${batch.batchId} existed without a payout`);
  await insertPayout(tx, payout);
  await updateBatchStatus(tx, batch.batchId, { status: "paid_out", at: payout.instructedAt });
  const paid: SettlementBatch = { ...batch, status: "paid_out" };
  await appendPayoutInstructed(tx, paid, payout);
  return ok({ batch: paid, payout, alreadyInstructed: false });
}
