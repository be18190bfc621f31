/**
 * The ledger's SQL: writing entries (multi-row INSERTs, no row ever updated), reading balances
 * (checkpoint + postings since, exact at any moment), pending entries and their resolution, and
 * taking checkpoints. Every function takes the caller's client, so a use case composes them in one
 * transaction with the inbox row and the outbox.
 */
import { PROVIDER_IDS, type ProviderId } from "@tributary/contracts";
import { isRoundingMode, parseCurrencyCode, type CurrencyCode, type RoundingMode } from "@tributary/money";
import type { Pool, PoolClient } from "pg";
import { accountIdOf, type AccountKind, type LedgerAccount } from "../../domain/account.js";
import type { EntryDraft, EntryType } from "../../domain/journal-entry.js";

/** Anything that runs a query: a pool, a checked-out client, a transaction. */
export type Queryable = Pick<Pool | PoolClient, "query">;

function accountColumns(account: LedgerAccount): { provider: ProviderId | null; merchantId: string | null } {
  switch (account.kind) {
    case "provider_clearing":
    case "provider_fee_expense":
      return { provider: account.provider, merchantId: null };
    case "merchant_payable":
    case "merchant_reserve":
      return { provider: null, merchantId: account.merchantId };
    case "platform_fee_revenue":
    case "suspense":
    case "payout_clearing":
      return { provider: null, merchantId: null };
  }
}

/**
 * Creates the accounts the entries post to, when they do not exist yet. `ON CONFLICT DO NOTHING`
 * on an existing account takes no row lock, so this is no hot row: the account row is written
 * once, ever, and only read afterwards (by the commit-time check, without a lock).
 */
async function ensureAccounts(tx: Queryable, entries: readonly EntryDraft[]): Promise<void> {
  const byId = new Map<string, LedgerAccount>();
  for (const entry of entries) for (const posting of entry.postings) byId.set(accountIdOf(posting.account), posting.account);
  const ids: string[] = [];
  const kinds: AccountKind[] = [];
  const providers: (string | null)[] = [];
  const merchants: (string | null)[] = [];
  const currencies: string[] = [];
  // Sorted, so two transactions creating the same new accounts wait on them in the same order.
  for (const id of [...byId.keys()].sort()) {
    const account = byId.get(id);
    if (account === undefined) continue;
    const columns = accountColumns(account);
    ids.push(id);
    kinds.push(account.kind);
    providers.push(columns.provider);
    merchants.push(columns.merchantId);
    currencies.push(account.currency);
  }
  await tx.query(
    `INSERT INTO ledger_account (account_id, kind, provider, merchant_id, currency)
     SELECT * FROM unnest($1::text[], $2::account_kind[], $3::payment_provider[], $4::text[], $5::char(3)[])
     ON CONFLICT (account_id) DO NOTHING`,
    [ids, kinds, providers, merchants, currencies],
  );
}

const nullable = <T>(value: T | undefined): T | null => (value === undefined ? null : value);
const big = (value: bigint | undefined): string | null => (value === undefined ? null : value.toString());

/**
 * Writes entries and their postings in the caller's transaction: one multi-row INSERT for the
 * entries (`ON CONFLICT (source_key) DO NOTHING`, so an entry whose cause was already posted is
 * skipped) and one for the postings of the entries that were new. Returns the ids of the entries
 * written. The database checks at COMMIT that each balances.
 */
export async function writeEntries(tx: Queryable, entries: readonly EntryDraft[]): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  await ensureAccounts(tx, entries);
  const column = <T>(pick: (entry: EntryDraft) => T): T[] => entries.map(pick);
  const inserted = await tx.query<{ entry_id: string }>(
    `INSERT INTO journal_entry (entry_id, source_key, source_event_id, entry_type, phase, pending_entry_id, payment_id,
        order_id, refund_ref, merchant_id, provider, provider_reference, currency, amount_minor, provider_fee_minor,
        platform_fee_minor, fee_rate_ppm, reported_fee_minor, provider_fee_rounding, platform_fee_rounding,
        merchant_bears_provider_fee, business_date, release_on, booked_at, posting_count, memo, approved_by)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::entry_type[], $5::entry_phase[], $6::uuid[], $7::text[],
        $8::text[], $9::text[], $10::text[], $11::payment_provider[], $12::text[], $13::char(3)[], $14::bigint[], $15::bigint[],
        $16::bigint[], $17::bigint[], $18::bigint[], $19::text[], $20::text[],
        $21::boolean[], $22::date[], $23::date[], $24::timestamptz[], $25::integer[], $26::text[], $27::text[])
     ON CONFLICT (source_key) DO NOTHING
     RETURNING entry_id`,
    [
      column((e) => e.entryId),
      column((e) => e.sourceKey),
      column((e) => nullable(e.sourceEventId)),
      column((e) => e.entryType),
      column((e) => e.phase),
      column((e) => nullable(e.pendingEntryId)),
      column((e) => nullable(e.paymentId)),
      column((e) => nullable(e.orderId)),
      column((e) => nullable(e.refundRef)),
      column((e) => nullable(e.merchantId)),
      column((e) => nullable(e.provider)),
      column((e) => nullable(e.providerReference)),
      column((e) => e.currency),
      column((e) => e.amountMinor.toString()),
      column((e) => e.providerFeeMinor.toString()),
      column((e) => e.platformFeeMinor.toString()),
      column((e) => big(e.feeRatePpm)),
      column((e) => big(e.reportedFeeMinor)),
      column((e) => nullable(e.providerFeeRounding)),
      column((e) => nullable(e.platformFeeRounding)),
      column((e) => e.merchantBearsProviderFee),
      column((e) => nullable(e.businessDate)),
      column((e) => nullable(e.releaseOn)),
      column((e) => e.bookedAt.toISOString()),
      column((e) => e.postings.length),
      column((e) => e.memo),
      column((e) => nullable(e.approvedBy)),
    ],
  );
  const written = new Set(inserted.rows.map((row) => row.entry_id));
  const entryIds: string[] = [];
  const lineNos: number[] = [];
  const accountIds: string[] = [];
  const currencies: string[] = [];
  const amounts: string[] = [];
  const lineTypes: string[] = [];
  for (const entry of entries) {
    if (!written.has(entry.entryId)) continue;
    entry.postings.forEach((posting, index) => {
      entryIds.push(entry.entryId);
      lineNos.push(index + 1);
      accountIds.push(accountIdOf(posting.account));
      currencies.push(posting.account.currency);
      amounts.push(posting.amountMinor.toString());
      lineTypes.push(posting.lineType);
    });
  }
  if (entryIds.length > 0) {
    // pending, booked_at and tx_id are filled in from the entry by the admitting trigger.
    await tx.query(
      `INSERT INTO ledger_posting (entry_id, line_no, account_id, currency, amount_minor, line_type)
       SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::char(3)[], $5::bigint[], $6::text[])`,
      [entryIds, lineNos, accountIds, currencies, amounts, lineTypes],
    );
  }
  return written;
}

/** Serialises the refunds of one payment across transactions and instances (the payment is no hot row). */
export async function lockPayment(tx: Queryable, paymentId: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtextextended('settlement-payment:' || $1, 0))", [paymentId]);
}

/** A capture as the ledger recorded it, with what has been refunded or reserved since. */
export interface StoredCapture {
  readonly entryId: string;
  readonly paymentId: string;
  readonly orderId: string;
  readonly merchantId: string;
  readonly provider: ProviderId;
  readonly providerTransactionId: string | undefined;
  readonly currency: CurrencyCode;
  readonly amountMinor: bigint;
  readonly providerFeeMinor: bigint;
  readonly platformFeeMinor: bigint;
  readonly merchantBearsProviderFee: boolean;
  readonly providerRounding: RoundingMode;
  readonly commissionRounding: RoundingMode;
  /** Posted refunds plus pending reservations not yet posted or voided. */
  readonly refundedOrReservedMinor: bigint;
}

interface CaptureRow {
  entry_id: string;
  payment_id: string;
  order_id: string;
  merchant_id: string;
  provider: ProviderId;
  provider_reference: string | null;
  currency: string;
  amount_minor: string;
  provider_fee_minor: string;
  platform_fee_minor: string;
  merchant_bears_provider_fee: boolean;
  provider_fee_rounding: string | null;
  platform_fee_rounding: string | null;
  refunded_or_reserved_minor: string;
}

function rounding(text: string | null, what: string): RoundingMode {
  if (text === null || !isRoundingMode(text)) throw new Error(`ledger row has no valid ${what}: ${String(text)}`);
  return text;
}

/** The capture of an order (its first, when a surplus capture exists too) or of a payment id. */
export async function findCapture(tx: Queryable, by: { readonly orderId: string } | { readonly paymentId: string }): Promise<StoredCapture | undefined> {
  const where = "orderId" in by ? "c.order_id = $1" : "c.payment_id = $1";
  const { rows } = await tx.query<CaptureRow>(
    `SELECT c.entry_id, c.payment_id, c.order_id, c.merchant_id, c.provider, c.provider_reference, c.currency,
            c.amount_minor, c.provider_fee_minor, c.platform_fee_minor, c.merchant_bears_provider_fee,
            c.provider_fee_rounding, c.platform_fee_rounding,
            COALESCE((SELECT sum(r.amount_minor) FROM journal_entry r
                       WHERE r.payment_id = c.payment_id
                         AND (r.entry_type = 'refund_posted'
                              OR (r.entry_type = 'refund_reserved'
                                  AND NOT EXISTS (SELECT 1 FROM pending_resolution s WHERE s.pending_entry_id = r.entry_id)))), 0)
              AS refunded_or_reserved_minor
       FROM journal_entry c
      WHERE ${where} AND c.entry_type = 'payment_captured'
      ORDER BY c.booked_at, c.entry_id
      LIMIT 1`,
    ["orderId" in by ? by.orderId : by.paymentId],
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  const currency = parseCurrencyCode(row.currency);
  if (!currency.ok) throw new Error(`ledger row has currency ${row.currency}`);
  return {
    entryId: row.entry_id,
    paymentId: row.payment_id,
    orderId: row.order_id,
    merchantId: row.merchant_id,
    provider: row.provider,
    providerTransactionId: row.provider_reference ?? undefined,
    currency: currency.value,
    amountMinor: BigInt(row.amount_minor),
    providerFeeMinor: BigInt(row.provider_fee_minor),
    platformFeeMinor: BigInt(row.platform_fee_minor),
    merchantBearsProviderFee: row.merchant_bears_provider_fee,
    providerRounding: rounding(row.provider_fee_rounding, "provider fee rounding"),
    commissionRounding: rounding(row.platform_fee_rounding, "commission rounding"),
    refundedOrReservedMinor: BigInt(row.refunded_or_reserved_minor),
  };
}

/** A pending entry and how it ended, if it has. */
export interface StoredPending {
  readonly entryId: string;
  readonly amountMinor: bigint;
  readonly outcome: "posted" | "voided" | undefined;
}

/** The pending entry with this source key, if any. */
export async function findPending(tx: Queryable, sourceKey: string): Promise<StoredPending | undefined> {
  const { rows } = await tx.query<{ entry_id: string; amount_minor: string; outcome: "posted" | "voided" | null }>(
    `SELECT e.entry_id, e.amount_minor, r.outcome
       FROM journal_entry e LEFT JOIN pending_resolution r ON r.pending_entry_id = e.entry_id
      WHERE e.source_key = $1 AND e.phase = 'pending'`,
    [sourceKey],
  );
  const row = rows[0];
  return row === undefined ? undefined : { entryId: row.entry_id, amountMinor: BigInt(row.amount_minor), outcome: row.outcome ?? undefined };
}

/** Whether an entry with this source key exists. */
export async function entryExists(tx: Queryable, sourceKey: string): Promise<boolean> {
  const { rowCount } = await tx.query("SELECT 1 FROM journal_entry WHERE source_key = $1", [sourceKey]);
  return rowCount === 1;
}

/**
 * Ends a pending entry once: posted (by `resolvingEntryId`) or voided. A second resolution of the
 * same entry is ignored and reported as `false`.
 */
export async function resolvePending(
  tx: Queryable,
  resolution: {
    readonly pendingEntryId: string;
    readonly outcome: "posted" | "voided";
    readonly resolvingEntryId: string | undefined;
    readonly sourceEventId: string | undefined;
    readonly reason: string;
  },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO pending_resolution (pending_entry_id, outcome, resolving_entry_id, source_event_id, reason)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (pending_entry_id) DO NOTHING`,
    [resolution.pendingEntryId, resolution.outcome, nullable(resolution.resolvingEntryId), nullable(resolution.sourceEventId), resolution.reason],
  );
  return rowCount === 1;
}

/** One account's balances, signed debit-positive (a merchant payable is negative when owed). */
export interface AccountBalance {
  readonly accountId: string;
  readonly kind: AccountKind;
  readonly currency: CurrencyCode;
  /** Posted postings. */
  readonly postedMinor: bigint;
  /** Pending debits and credits of entries not yet posted or voided. */
  readonly pendingDebitsMinor: bigint;
  readonly pendingCreditsMinor: bigint;
}

interface BalanceRow {
  account_id: string;
  kind: AccountKind;
  currency: string;
  posted_minor: string;
  pending_debits_minor: string;
  pending_credits_minor: string;
}

function toBalance(row: BalanceRow): AccountBalance {
  const currency = parseCurrencyCode(row.currency);
  if (!currency.ok) throw new Error(`ledger account ${row.account_id} has currency ${row.currency}`);
  return {
    accountId: row.account_id,
    kind: row.kind,
    currency: currency.value,
    postedMinor: BigInt(row.posted_minor),
    pendingDebitsMinor: BigInt(row.pending_debits_minor),
    pendingCreditsMinor: BigInt(row.pending_credits_minor),
  };
}

const pendingColumns = `
  COALESCE((SELECT sum(p.amount_minor) FILTER (WHERE p.amount_minor > 0) FROM ledger_posting p
             WHERE p.account_id = a.account_id AND p.pending
               AND NOT EXISTS (SELECT 1 FROM pending_resolution r WHERE r.pending_entry_id = p.entry_id)), 0) AS pending_debits_minor,
  COALESCE((SELECT -sum(p.amount_minor) FILTER (WHERE p.amount_minor < 0) FROM ledger_posting p
             WHERE p.account_id = a.account_id AND p.pending
               AND NOT EXISTS (SELECT 1 FROM pending_resolution r WHERE r.pending_entry_id = p.entry_id)), 0) AS pending_credits_minor`;

/**
 * Balances now, exact: each account's latest checkpoint line plus the postings its checkpoint's
 * MVCC snapshot did not see. One statement, so one snapshot: what it returns is the ledger as of
 * one instant, however many writers run. Reads no row that writers update (there is none).
 */
export async function balancesNow(db: Queryable, accountIds: readonly string[]): Promise<AccountBalance[]> {
  const { rows } = await db.query<BalanceRow>(
    `SELECT a.account_id, a.kind, a.currency,
            COALESCE(l.balance_minor, 0) + COALESCE((
              SELECT sum(p.amount_minor) FROM ledger_posting p
               WHERE p.account_id = a.account_id AND NOT p.pending
                 AND p.tx_id >= c.snapshot_xmin
                 AND (p.tx_id >= c.snapshot_xmax OR p.tx_id = ANY (c.snapshot_xip))), 0) AS posted_minor,
            ${pendingColumns}
       FROM ledger_account a
       LEFT JOIN LATERAL (SELECT checkpoint_id, balance_minor FROM balance_checkpoint_line
                           WHERE account_id = a.account_id ORDER BY checkpoint_id DESC LIMIT 1) l ON true
       JOIN balance_checkpoint c ON c.checkpoint_id = COALESCE(l.checkpoint_id, 0)
      WHERE a.account_id = ANY ($1::text[])
      ORDER BY a.account_id`,
    [accountIds],
  );
  return rows.map(toBalance);
}

/**
 * Posted balances as of a past instant: the postings booked (the provider's time of the payment or
 * refund) at or before `at`. Read from the covering index alone; its cost grows with the account's
 * postings up to `at` (see README "Cost"). Pending amounts are those of entries booked by `at` and
 * unresolved now.
 */
export async function balancesAt(db: Queryable, accountIds: readonly string[], at: Date): Promise<AccountBalance[]> {
  const { rows } = await db.query<BalanceRow>(
    `SELECT a.account_id, a.kind, a.currency,
            COALESCE((SELECT sum(p.amount_minor) FROM ledger_posting p
                       WHERE p.account_id = a.account_id AND NOT p.pending AND p.booked_at <= $2), 0) AS posted_minor,
            COALESCE((SELECT sum(p.amount_minor) FILTER (WHERE p.amount_minor > 0) FROM ledger_posting p
                       WHERE p.account_id = a.account_id AND p.pending AND p.booked_at <= $2
                         AND NOT EXISTS (SELECT 1 FROM pending_resolution r WHERE r.pending_entry_id = p.entry_id)), 0) AS pending_debits_minor,
            COALESCE((SELECT -sum(p.amount_minor) FILTER (WHERE p.amount_minor < 0) FROM ledger_posting p
                       WHERE p.account_id = a.account_id AND p.pending AND p.booked_at <= $2
                         AND NOT EXISTS (SELECT 1 FROM pending_resolution r WHERE r.pending_entry_id = p.entry_id)), 0) AS pending_credits_minor
       FROM ledger_account a
      WHERE a.account_id = ANY ($1::text[])
      ORDER BY a.account_id`,
    [accountIds, at.toISOString()],
  );
  return rows.map(toBalance);
}

/** The ids of every account whose owner matches (a merchant's accounts, a provider's, the platform's). */
export async function listAccountIds(
  db: Queryable,
  filter: { readonly merchantId?: string; readonly provider?: ProviderId; readonly platformOnly?: boolean } = {},
): Promise<string[]> {
  const { rows } = await db.query<{ account_id: string }>(
    `SELECT account_id FROM ledger_account
      WHERE ($1::text IS NULL OR merchant_id = $1) AND ($2::payment_provider IS NULL OR provider = $2)
        AND (NOT $3::boolean OR merchant_id IS NULL)
      ORDER BY account_id`,
    [filter.merchantId ?? null, filter.provider ?? null, filter.platformOnly === true],
  );
  return rows.map((row) => row.account_id);
}

/**
 * Takes a balance checkpoint: for every account with postings the previous checkpoint's snapshot
 * did not see, its balance as of this statement's snapshot. One statement (one snapshot), under a
 * transaction-level advisory lock so two checkpointers (two instances) take turns. Writers are
 * never blocked: the checkpoint only reads postings and appends its own rows. Returns the new
 * checkpoint's id and how many account lines it wrote.
 */
export async function takeCheckpoint(pool: Pool): Promise<{ readonly checkpointId: bigint; readonly lines: number }> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('settlement-balance-checkpoint', 0))");
    // READ COMMITTED: this statement's snapshot is taken after the lock, so it sees the previous
    // checkpoint; pg_current_snapshot() is that same snapshot.
    const { rows } = await client.query<{ checkpoint_id: string; lines: string }>(
      `WITH prev AS (SELECT * FROM balance_checkpoint ORDER BY checkpoint_id DESC LIMIT 1),
            snap AS (SELECT pg_current_snapshot() AS s),
            cp AS (INSERT INTO balance_checkpoint (snapshot_xmin, snapshot_xmax, snapshot_xip)
                   SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint,
                          ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(s) AS x)
                     FROM snap
                   RETURNING checkpoint_id),
            delta AS (SELECT p.account_id, sum(p.amount_minor) AS d
                        FROM ledger_posting p, prev
                       WHERE NOT p.pending AND p.tx_id >= prev.snapshot_xmin
                         AND (p.tx_id >= prev.snapshot_xmax OR p.tx_id = ANY (prev.snapshot_xip))
                       GROUP BY p.account_id),
            lines AS (INSERT INTO balance_checkpoint_line (account_id, checkpoint_id, balance_minor)
                      SELECT delta.account_id, cp.checkpoint_id,
                             COALESCE((SELECT l.balance_minor FROM balance_checkpoint_line l
                                        WHERE l.account_id = delta.account_id ORDER BY l.checkpoint_id DESC LIMIT 1), 0) + delta.d
                        FROM delta, cp
                      RETURNING 1)
       SELECT (SELECT checkpoint_id FROM cp) AS checkpoint_id, (SELECT count(*) FROM lines) AS lines`,
    );
    await client.query("COMMIT");
    const row = rows[0];
    if (row === undefined) throw new Error("takeCheckpoint: no row returned");
    return { checkpointId: BigInt(row.checkpoint_id), lines: Number(row.lines) };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The entry types that belong to a settlement batch (pending reservations do not). */
export const BATCHED_ENTRY_TYPES: readonly EntryType[] = ["payment_captured", "refund_posted", "adjustment", "reserve_withheld", "reserve_released"];

/**
 * Creates the platform-wide accounts (each provider's clearing and fee expense, fee revenue,
 * suspense, payout clearing) for the given currencies, so they exist before the first posting.
 */
export async function ensurePlatformAccounts(db: Queryable, currencies: readonly CurrencyCode[]): Promise<void> {
  const ids: string[] = [];
  const kinds: AccountKind[] = [];
  const providers: (string | null)[] = [];
  const currencyColumn: string[] = [];
  const add = (account: LedgerAccount, provider: string | null): void => {
    ids.push(accountIdOf(account));
    kinds.push(account.kind);
    providers.push(provider);
    currencyColumn.push(account.currency);
  };
  for (const currency of currencies) {
    for (const provider of PROVIDER_IDS) {
      add({ kind: "provider_clearing", provider, currency }, provider);
      add({ kind: "provider_fee_expense", provider, currency }, provider);
    }
    add({ kind: "platform_fee_revenue", currency }, null);
    add({ kind: "suspense", currency }, null);
    add({ kind: "payout_clearing", currency }, null);
  }
  await db.query(
    `INSERT INTO ledger_account (account_id, kind, provider, currency)
     SELECT * FROM unnest($1::text[], $2::account_kind[], $3::payment_provider[], $4::char(3)[])
     ON CONFLICT (account_id) DO NOTHING`,
    [ids, kinds, providers, currencyColumn],
  );
}
