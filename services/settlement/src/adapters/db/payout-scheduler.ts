/**
 * The payout scheduler: pays every reconciled batch out once its settlement date has come. It is
 * the only writer of payout entries — nothing in the gRPC API pays out — so a batch is paid when
 * the provider's bill agrees with the ledger (reconciled), never while it is held or still closed.
 */
import { startBackgroundPoll } from "@tributary/service-kit";
import type { Logger } from "@tributary/telemetry";
import type { Pool } from "pg";
import { instructPayout } from "../../app/instruct-payout.js";
import type { SettlementDeps } from "../../app/ports.js";
import { shanghaiBusinessDate } from "../../domain/business-date.js";
import type { StoredPayout } from "./pg-payouts.js";

/** Who the payout entries and `PayoutInstructed` name as having instructed them. */
export const PAYOUT_SCHEDULER = "settlement-payout-scheduler";

/** What one pass paid, and the batches it could not pay (with why). */
export interface PayoutPass {
  readonly paid: readonly StoredPayout[];
  readonly refused: readonly { readonly batchId: string; readonly code: string; readonly message: string }[];
}

/**
 * One pass: every batch that is reconciled, has a positive payable net, a payout account for its
 * merchant and currency and no payout yet, whose settlement date (Asia/Shanghai) is today or
 * earlier by `deps.clock`, oldest first, at most `limit`. Each is paid in a transaction of its own
 * under the batch's row lock (`instructPayout`), so passes of two instances at once pay each batch
 * once; a batch another pass paid in between comes back as already instructed and is not counted.
 */
export async function payDueBatches(pool: Pool, deps: SettlementDeps, options: { readonly limit?: number } = {}): Promise<PayoutPass> {
  const today = shanghaiBusinessDate(deps.clock());
  const { rows } = await pool.query<{ batch_id: string }>(
    `SELECT b.batch_id FROM settlement_batch b
      WHERE b.status = 'reconciled' AND b.settlement_date <= $1::date AND b.payable_minor > 0
        AND EXISTS (SELECT 1 FROM merchant_payout_account a WHERE a.merchant_id = b.merchant_id AND a.currency = b.currency)
        AND NOT EXISTS (SELECT 1 FROM settlement_payout p WHERE p.batch_id = b.batch_id)
      ORDER BY b.settlement_date, b.batch_id
      LIMIT $2`,
    [today, options.limit ?? 500],
  );
  const paid: StoredPayout[] = [];
  const refused: { batchId: string; code: string; message: string }[] = [];
  for (const { batch_id: batchId } of rows) {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const result = await instructPayout(deps, client, { batchId, instructedBy: PAYOUT_SCHEDULER, mayAct: () => true });
      await client.query(result.ok ? "COMMIT" : "ROLLBACK");
      if (!result.ok) refused.push({ batchId, code: result.error.code, message: result.error.message });
      else if (!result.value.alreadyInstructed) paid.push(result.value.payout);
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
  return { paid, refused };
}

/** Options of the scheduled payouts. */
export interface PayoutSchedulerOptions {
  readonly pool: Pool;
  readonly deps: SettlementDeps;
  /** How often to look for batches due. */
  readonly intervalMs: number;
  readonly logger?: Logger;
}

/** Runs {@link payDueBatches} now and every `intervalMs` after; `stop` waits for a pass in flight (at most 10 s). */
export function startPayoutScheduler(options: PayoutSchedulerOptions): { stop(): Promise<void> } {
  const poll = startBackgroundPoll(
    async () => {
      try {
        const pass = await payDueBatches(options.pool, options.deps);
        for (const payout of pass.paid) {
          options.logger?.info({ batchId: payout.batchId, merchantId: payout.merchantId, amountMinor: payout.amountMinor.toString() }, "settlement: payout instructed");
        }
        for (const refusal of pass.refused) options.logger?.warn(refusal, "settlement: a batch due for payout was refused");
      } catch (error) {
        if (!poll.stopped()) options.logger?.warn({ err: error }, "settlement: paying out due batches failed; retrying at the next interval");
      }
    },
    { intervalMs: options.intervalMs, stopWaitMs: 10_000 },
  );
  return { stop: () => poll.stop() };
}
