/**
 * The payouts' SQL: the merchant payout accounts operators keep, and the one payout row per batch.
 */
import type { PayoutDecision } from "../../domain/payout.js";
import type { Queryable } from "./pg-ledger.js";

/** A payout as stored, with the batch's merchant and currency. */
export interface StoredPayout extends PayoutDecision {
  readonly merchantId: string;
  readonly currency: string;
}

/** The merchant's payout account reference for a currency, if one is configured. */
export async function payoutAccountOf(db: Queryable, merchantId: string, currency: string): Promise<string | undefined> {
  const { rows } = await db.query<{ account_reference: string }>(
    "SELECT account_reference FROM merchant_payout_account WHERE merchant_id = $1 AND currency = $2",
    [merchantId, currency],
  );
  return rows[0]?.account_reference;
}

/** Sets (or replaces) a merchant's payout account for a currency: operators' configuration, not ledger data. */
export async function setPayoutAccount(db: Queryable, merchantId: string, currency: string, accountReference: string): Promise<void> {
  await db.query(
    `INSERT INTO merchant_payout_account (merchant_id, currency, account_reference) VALUES ($1, $2, $3)
     ON CONFLICT (merchant_id, currency) DO UPDATE SET account_reference = EXCLUDED.account_reference, updated_at = now()`,
    [merchantId, currency, accountReference],
  );
}

/** The batch's payout, if it has one. */
export async function payoutOfBatch(db: Queryable, batchId: string): Promise<StoredPayout | undefined> {
  const { rows } = await db.query<{
    payout_id: string;
    entry_id: string;
    batch_id: string;
    merchant_id: string;
    currency: string;
    amount_minor: string;
    account_reference: string;
    instructed_by: string;
    instructed_at: Date;
  }>("SELECT * FROM settlement_payout WHERE batch_id = $1", [batchId]);
  const row = rows[0];
  if (row === undefined) return undefined;
  return {
    payoutId: row.payout_id,
    entryId: row.entry_id,
    batchId: row.batch_id,
    merchantId: row.merchant_id,
    currency: row.currency,
    amountMinor: BigInt(row.amount_minor),
    accountReference: row.account_reference,
    instructedBy: row.instructed_by,
    instructedAt: row.instructed_at,
  };
}

/** Records the batch's payout (the primary key refuses a second one). */
export async function insertPayout(tx: Queryable, payout: StoredPayout): Promise<void> {
  await tx.query(
    `INSERT INTO settlement_payout (batch_id, payout_id, entry_id, merchant_id, currency, amount_minor, account_reference, instructed_by, instructed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      payout.batchId,
      payout.payoutId,
      payout.entryId,
      payout.merchantId,
      payout.currency,
      payout.amountMinor.toString(),
      payout.accountReference,
      payout.instructedBy,
      payout.instructedAt.toISOString(),
    ],
  );
}
