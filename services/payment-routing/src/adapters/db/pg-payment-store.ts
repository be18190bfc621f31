import { isProviderId, type ProviderId } from "@tributary/contracts";
import { money, parseCurrencyCode, type Money } from "@tributary/money";
import type { QueryResultRow } from "pg";
import type { BuyerAction, PaymentChannel } from "../providers/provider-adapter.js";
import type { BuyerAccounts } from "../../domain/routing/routing-order.js";
import type {
  ClaimedPayment,
  CreatedAtProvider,
  PaymentRecord,
  PaymentStatus,
  PaymentStore,
  PaymentUpdate,
  Reader,
  RefundRecord,
  RefundStatus,
  RefundUpdate,
  StoredDecision,
  Tx,
} from "../../app/ports.js";

/** A `payments` row as {@link PAYMENT_COLUMNS} selects it. */
export interface PaymentRow extends QueryResultRow {
  payment_id: string;
  order_id: string;
  merchant_id: string;
  buyer_id: string;
  buyer_accounts: BuyerAccounts;
  provider: string;
  channel: PaymentChannel;
  attempt: number;
  status: PaymentStatus;
  amount_minor: string;
  currency: string;
  routing_rule: string;
  routing_decision: StoredDecision;
  rollout_id: string | null;
  rollout_arm: string | null;
  buyer_action: BuyerAction | null;
  provider_transaction_id: string | null;
  provider_status: string | null;
  failure_reason: string | null;
  refunded_minor: string;
  created_at: Date;
  updated_at: Date;
  expires_at: Date;
  next_check_at: Date | null;
  captured_at: Date | null;
  trace_parent: string | null;
}

interface RefundRow extends QueryResultRow {
  refund_ref: string;
  payment_id: string;
  order_id: string;
  amount_minor: string;
  currency: string;
  reason: string;
  status: RefundStatus;
  unowned_capture: boolean;
  provider_refund_id: string | null;
  provider_status: string | null;
  failure_reason: string | null;
  created_at: Date;
  updated_at: Date;
  next_check_at: Date | null;
}

/** A stored amount; a currency the money package does not know is a broken row, not an input error. */
function moneyOf(amountMinor: string, currency: string): Money {
  const code = parseCurrencyCode(currency.trim());
  if (!code.ok) throw new Error(`stored currency ${JSON.stringify(currency)} is unknown`);
  return money(BigInt(amountMinor), code.value);
}

function providerOf(text: string): ProviderId {
  if (!isProviderId(text)) throw new Error(`stored provider ${JSON.stringify(text)} is unknown`);
  return text;
}

/** A `payments` row as the lifecycle's record (for statements outside the store that read one, e.g. the webhook's). */
export function toPayment(row: PaymentRow): PaymentRecord {
  return {
    paymentId: row.payment_id,
    orderId: row.order_id,
    merchantId: row.merchant_id,
    buyerId: row.buyer_id,
    buyerAccounts: row.buyer_accounts,
    provider: providerOf(row.provider),
    channel: row.channel,
    attempt: row.attempt,
    status: row.status,
    amount: moneyOf(row.amount_minor, row.currency),
    routingRule: row.routing_rule,
    decision: row.routing_decision,
    rolloutId: row.rollout_id ?? undefined,
    rolloutArm: row.rollout_arm ?? undefined,
    buyerAction: row.buyer_action ?? undefined,
    providerTransactionId: row.provider_transaction_id ?? undefined,
    providerStatus: row.provider_status ?? undefined,
    failureReason: row.failure_reason ?? undefined,
    refundedMinor: BigInt(row.refunded_minor),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    nextCheckAt: row.next_check_at ?? undefined,
    capturedAt: row.captured_at ?? undefined,
    traceParent: row.trace_parent ?? undefined,
  };
}

function toRefund(row: RefundRow): RefundRecord {
  return {
    refundRef: row.refund_ref,
    paymentId: row.payment_id,
    orderId: row.order_id,
    amount: moneyOf(row.amount_minor, row.currency),
    reason: row.reason,
    status: row.status,
    unownedCapture: row.unowned_capture,
    providerRefundId: row.provider_refund_id ?? undefined,
    providerStatus: row.provider_status ?? undefined,
    failureReason: row.failure_reason ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    nextCheckAt: row.next_check_at ?? undefined,
  };
}

/** The select list {@link toPayment} reads (amounts as text). */
export const PAYMENT_COLUMNS = `payment_id, order_id, merchant_id, buyer_id, provider, channel, attempt, status,
  amount_minor::text AS amount_minor, currency, routing_rule, routing_decision, rollout_id, rollout_arm,
  buyer_action, provider_transaction_id, provider_status, failure_reason, refunded_minor::text AS refunded_minor,
  created_at, updated_at, expires_at, next_check_at, captured_at, trace_parent, buyer_accounts`;

const INSERT_COLUMNS = `payment_id, order_id, merchant_id, buyer_id, provider, channel, attempt, status, amount_minor,
  currency, routing_rule, routing_decision, rollout_id, rollout_arm, buyer_action, provider_transaction_id,
  provider_status, failure_reason, refunded_minor, created_at, updated_at, expires_at, next_check_at, captured_at, trace_parent,
  buyer_accounts`;

// Typed, so the same list serves INSERT … VALUES and INSERT … SELECT (which infers no types from the target).
const INSERT_PLACEHOLDERS = `$1::text, $2::text, $3::text, $4::text, $5::payment_provider, $6::payment_channel, $7::int, $8::payment_status,
  $9::bigint, $10::char(3), $11::text, $12::jsonb, $13::text, $14::text, $15::jsonb, $16::text, $17::text, $18::text, $19::bigint,
  $20::timestamptz, $21::timestamptz, $22::timestamptz, $23::timestamptz, $24::timestamptz, $25::text, $26::jsonb`;

/** The element types of INSERT_COLUMNS, for a multi-row INSERT from unnest(…). */
const INSERT_ARRAY_TYPES = [
  "text", "text", "text", "text", "payment_provider", "payment_channel", "int", "payment_status", "bigint", "char(3)", "text", "jsonb",
  "text", "text", "jsonb", "text", "text", "text", "bigint", "timestamptz", "timestamptz", "timestamptz", "timestamptz", "timestamptz", "text",
  "jsonb",
] as const;

function insertValues(p: PaymentRecord): unknown[] {
  return [
    p.paymentId, p.orderId, p.merchantId, p.buyerId, p.provider, p.channel, p.attempt, p.status,
    p.amount.amountMinor.toString(), p.amount.currency, p.routingRule, JSON.stringify(p.decision), p.rolloutId ?? null,
    p.rolloutArm ?? null, p.buyerAction === undefined ? null : JSON.stringify(p.buyerAction), p.providerTransactionId ?? null,
    p.providerStatus ?? null, p.failureReason ?? null, p.refundedMinor.toString(), p.createdAt, p.updatedAt, p.expiresAt,
    p.nextCheckAt ?? null, p.capturedAt ?? null, p.traceParent ?? null, JSON.stringify(p.buyerAccounts),
  ];
}

const REFUND_COLUMNS = `refund_ref, payment_id, order_id, amount_minor::text AS amount_minor, currency, reason, status,
  unowned_capture, provider_refund_id, provider_status, failure_reason, created_at, updated_at, next_check_at`;

// The hot path's constant statements, prepared once per connection (named): Postgres parses and
// plans each once per connection instead of once per payment.

const INSERT_FIRST_PAYMENTS = `INSERT INTO payments (${INSERT_COLUMNS})
  SELECT u.* FROM unnest(${INSERT_ARRAY_TYPES.map((type, i) => `$${i + 1}::${type}[]`).join(", ")}) AS u(${INSERT_COLUMNS})
  WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = u.order_id)
  RETURNING payment_id`;

// Every SET expression reads the row as it was (under READ COMMITTED, the latest committed version).
const RECORD_CREATED = `UPDATE payments p SET updated_at = $1, buyer_action = v.buyer_action,
    status = CASE WHEN p.status = 'creating' THEN 'pending'::payment_status ELSE p.status END,
    provider_status = CASE WHEN p.status = 'creating' THEN 'created' ELSE p.provider_status END,
    next_check_at = CASE WHEN p.status = 'creating' THEN LEAST(v.first_query_at, p.expires_at) ELSE p.next_check_at END
  FROM unnest($2::text[], $3::jsonb[], $4::timestamptz[]) AS v(payment_id, buyer_action, first_query_at)
  WHERE p.payment_id = v.payment_id`;

// The CTE reads the old provider_status: a queued creating row (null) is claimed for sending.
const CLAIM_DUE_PAYMENTS = `WITH due AS (
    SELECT payment_id, (status = 'creating' AND provider_status IS NULL) AS was_queued
    FROM payments WHERE next_check_at <= $1
    ORDER BY next_check_at LIMIT $3 FOR UPDATE SKIP LOCKED
  )
  UPDATE payments p SET next_check_at = $2,
    provider_status = CASE WHEN due.was_queued THEN 'sending' ELSE p.provider_status END
  FROM due WHERE p.payment_id = due.payment_id
  RETURNING ${PAYMENT_COLUMNS.replaceAll(/(^|,\s*)(\w+)/g, "$1p.$2")}, due.was_queued`;

const CLAIM_DUE_REFUNDS = `WITH due AS (
    SELECT refund_ref FROM payment_refunds WHERE next_check_at <= $1
    ORDER BY next_check_at LIMIT $3 FOR UPDATE SKIP LOCKED
  )
  UPDATE payment_refunds r SET next_check_at = $2 FROM due WHERE r.refund_ref = due.refund_ref
  RETURNING ${REFUND_COLUMNS.replaceAll(/(^|,\s*)(\w+)/g, "$1r.$2")}`;

const statementNames = new Map<string, string>();
/**
 * A short name per distinct statement text (Postgres truncates names at 63 bytes, so names built
 * from the text could collide): `pr-<what>-<n>`, numbered in this process.
 */
function statementName(what: string, text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `pr-${what}-${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return name;
}

/** `SET` clauses and values for the fields of an update that are present. */
function setClauses(columns: Readonly<Record<string, unknown>>, firstIndex: number): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  for (const [column, value] of Object.entries(columns)) {
    if (value === undefined) continue;
    values.push(value);
    parts.push(`${column} = $${firstIndex + values.length - 1}`);
  }
  return { sql: parts.join(", "), values };
}

/**
 * The {@link PaymentStore} in plain SQL on `pg`. Amounts travel as text (`::text`, `BigInt(...)`)
 * so no bigint ever passes through a JavaScript number.
 */
export function createPgPaymentStore(): PaymentStore {
  return {
    async insertPayment(tx: Tx, p: PaymentRecord): Promise<void> {
      await tx.query(`INSERT INTO payments (${INSERT_COLUMNS}) VALUES (${INSERT_PLACEHOLDERS})`, insertValues(p));
    },

    async insertFirstPayment(tx: Tx, p: PaymentRecord): Promise<boolean> {
      // One round trip instead of a SELECT and an INSERT. Two first attempts of one order racing
      // (a redelivery under a new event id) still meet payments_one_active_per_order.
      const result = await tx.query(
        `INSERT INTO payments (${INSERT_COLUMNS})
         SELECT ${INSERT_PLACEHOLDERS}
         WHERE NOT EXISTS (SELECT 1 FROM payments WHERE order_id = $2)`,
        insertValues(p),
      );
      return result.rowCount === 1;
    },

    async insertFirstPayments(tx: Tx, payments: readonly PaymentRecord[]): Promise<ReadonlySet<string>> {
      if (payments.length === 0) return new Set();
      // Column arrays, one element per payment, in the order of INSERT_COLUMNS.
      const columns = payments.map(insertValues);
      const arrays = INSERT_ARRAY_TYPES.map((_, i) => columns.map((values) => values[i]));
      const result = await tx.query<{ payment_id: string }>({ name: "pr-insert-first-payments", text: INSERT_FIRST_PAYMENTS, values: arrays });
      return new Set(result.rows.map((row) => row.payment_id));
    },

    async recordCreated(db: Reader, created: readonly CreatedAtProvider[], now: Date): Promise<void> {
      if (created.length === 0) return;
      // Sorted, so two batches touching the same rows lock them in the same order.
      const rows = [...created].sort((a, b) => (a.paymentId < b.paymentId ? -1 : a.paymentId > b.paymentId ? 1 : 0));
      await db.query({
        name: "pr-record-created",
        text: RECORD_CREATED,
        values: [now, rows.map((r) => r.paymentId), rows.map((r) => JSON.stringify(r.buyerAction)), rows.map((r) => r.firstQueryAt)],
      });
    },

    async loadPayment(db: Reader, paymentId: string, options): Promise<PaymentRecord | undefined> {
      const result = await db.query<PaymentRow>(
        `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE payment_id = $1${options.forUpdate ? " FOR UPDATE" : ""}`,
        [paymentId],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : toPayment(row);
    },

    async paymentsOfOrder(db: Reader, orderId: string, options): Promise<PaymentRecord[]> {
      const result = await db.query<PaymentRow>(
        `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE order_id = $1 ORDER BY attempt, created_at${options.forUpdate ? " FOR UPDATE" : ""}`,
        [orderId],
      );
      return result.rows.map(toPayment);
    },

    async updatePayment(tx: Tx, paymentId: string, update: PaymentUpdate, now: Date): Promise<void> {
      const { sql, values } = setClauses(
        {
          status: update.status,
          buyer_action: update.buyerAction === undefined ? undefined : JSON.stringify(update.buyerAction),
          provider_transaction_id: update.providerTransactionId,
          provider_status: update.providerStatus,
          failure_reason: update.failureReason,
          refunded_minor: update.refundedMinor?.toString(),
          next_check_at: update.nextCheckAt,
          captured_at: update.capturedAt,
        },
        3,
      );
      const text = `UPDATE payments SET updated_at = $2${sql === "" ? "" : `, ${sql}`} WHERE payment_id = $1`;
      // Prepared once per connection and set of columns (the text is a function of which are present).
      const result = await tx.query({ name: statementName("update-payment", text), text, values: [paymentId, now, ...values] });
      if (result.rowCount !== 1) throw new Error(`payment ${paymentId} was not updated (${String(result.rowCount)} rows)`);
    },

    async insertRefund(tx: Tx, r: RefundRecord): Promise<void> {
      await tx.query(
        `INSERT INTO payment_refunds (refund_ref, payment_id, order_id, amount_minor, currency, reason, status, unowned_capture,
           provider_refund_id, provider_status, failure_reason, created_at, updated_at, next_check_at)
         VALUES ($1, $2, $3, $4::bigint, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [
          r.refundRef, r.paymentId, r.orderId, r.amount.amountMinor.toString(), r.amount.currency, r.reason, r.status,
          r.unownedCapture, r.providerRefundId ?? null, r.providerStatus ?? null, r.failureReason ?? null, r.createdAt,
          r.updatedAt, r.nextCheckAt ?? null,
        ],
      );
    },

    async loadRefund(db: Reader, refundRef: string, options): Promise<RefundRecord | undefined> {
      const result = await db.query<RefundRow>(
        `SELECT ${REFUND_COLUMNS} FROM payment_refunds WHERE refund_ref = $1${options.forUpdate ? " FOR UPDATE" : ""}`,
        [refundRef],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : toRefund(row);
    },

    async refundsOfPayment(db: Reader, paymentId: string): Promise<RefundRecord[]> {
      const result = await db.query<RefundRow>(
        `SELECT ${REFUND_COLUMNS} FROM payment_refunds WHERE payment_id = $1 ORDER BY created_at, refund_ref`,
        [paymentId],
      );
      return result.rows.map(toRefund);
    },

    async updateRefund(tx: Tx, refundRef: string, update: RefundUpdate, now: Date): Promise<void> {
      const { sql, values } = setClauses(
        {
          status: update.status,
          provider_refund_id: update.providerRefundId,
          provider_status: update.providerStatus,
          failure_reason: update.failureReason,
          next_check_at: update.nextCheckAt,
        },
        3,
      );
      const result = await tx.query(
        `UPDATE payment_refunds SET updated_at = $2${sql === "" ? "" : `, ${sql}`} WHERE refund_ref = $1`,
        [refundRef, now, ...values],
      );
      if (result.rowCount !== 1) throw new Error(`refund ${refundRef} was not updated (${String(result.rowCount)} rows)`);
    },

    async claimDuePayments(db: Reader, now: Date, leaseUntil: Date, limit: number): Promise<ClaimedPayment[]> {
      // The CTE reads the old provider_status: a queued creating row (null) is claimed for sending.
      const result = await db.query<PaymentRow & { was_queued: boolean }>({ name: "pr-claim-due-payments", text: CLAIM_DUE_PAYMENTS, values: [now, leaseUntil, limit] });
      return result.rows.map((row) => ({ payment: toPayment(row), toSend: row.was_queued }));
    },

    async claimQueuedPayment(db: Reader, paymentId: string, leaseUntil: Date): Promise<PaymentRecord | undefined> {
      const result = await db.query<PaymentRow>(
        `UPDATE payments SET next_check_at = $2, provider_status = 'sending'
         WHERE payment_id = $1 AND status = 'creating' AND provider_status IS NULL
         RETURNING ${PAYMENT_COLUMNS}`,
        [paymentId, leaseUntil],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : toPayment(row);
    },

    async claimDueRefunds(db: Reader, now: Date, leaseUntil: Date, limit: number): Promise<RefundRecord[]> {
      const result = await db.query<RefundRow>({ name: "pr-claim-due-refunds", text: CLAIM_DUE_REFUNDS, values: [now, leaseUntil, limit] });
      return result.rows.map(toRefund);
    },
  };
}
