import { money, parseCurrencyCode, type CurrencyCode, type Money } from "@tributary/money";
import type { QueryResultRow } from "pg";
import {
  merchantRefKey,
  type ListCursor,
  type MerchantRef,
  type OrderListQuery,
  type OrderStore,
  type Reader,
  type Tx,
  type UnownedCaptureListing,
  type UnownedCaptureQuery,
} from "../../app/ports.js";
import type {
  CaptureRefundStatus,
  Channel,
  Order,
  OrderLine,
  OrderStatus,
  PaymentProvider,
  RecordedUnownedCapture,
  Refund,
  RefundStatus,
  UnownedCapture,
  UnownedCaptureReason,
} from "../../domain/order.js";
import type { CaptureRefundOutcomeEvent, CaptureRefundRequestedEvent, OrderEvent } from "../../domain/order-event.js";

/** One row of the load query: the order's columns plus its lines and refunds as JSON. */
interface OrderRow extends QueryResultRow {
  order_id: string;
  merchant_id: string;
  merchant_order_ref: string;
  buyer_id: string;
  buyer_country: string | null;
  buyer_provider_accounts: { provider: PaymentProvider; account_id: string }[];
  currency: string;
  total_minor: string;
  channel: Channel;
  preferred_provider: PaymentProvider | null;
  status: OrderStatus;
  paid_minor: string;
  refunded_minor: string;
  payment_id: string | null;
  payment_failure_reason: string | null;
  cancel_reason: string | null;
  created_at: Date;
  updated_at: Date;
  lines: { sku: string; category: string; quantity: string; unit_price_minor: string; currency: string }[] | null;
  refunds:
    | { refund_ref: string; amount_minor: string; currency: string; reason: string; status: RefundStatus; requested_at: string }[]
    | null;
  unowned_captures: UnownedCaptureJson[] | null;
}

/** One row of `unowned_captures` as JSON inside the load query. */
interface UnownedCaptureJson {
  payment_id: string;
  merchant_id: string;
  provider: PaymentProvider;
  provider_transaction_id: string | null;
  amount_minor: string;
  currency: string;
  reason: UnownedCaptureReason;
  refund_ref: string;
  description: string;
  refund_status: CaptureRefundStatus;
  refund_failed_reason: string | null;
}

/** One row of `unowned_captures` on its own (the unknown-order path and the operators' listing). */
interface UnownedCaptureRow extends QueryResultRow, UnownedCaptureJson {
  order_id: string;
  recorded_at: Date;
  refund_outcome_at: Date | null;
}

// bigint columns leave Postgres as text (inside JSON too), never as a JS number.
const selectOrder = `
  SELECT o.*,
    (SELECT json_agg(json_build_object(
        'sku', l.sku, 'category', l.category, 'quantity', l.quantity::text,
        'unit_price_minor', l.unit_price_minor::text, 'currency', l.currency) ORDER BY l.line_no)
       FROM order_lines l WHERE l.order_id = o.order_id) AS lines,
    (SELECT json_agg(json_build_object(
        'refund_ref', r.refund_ref, 'amount_minor', r.amount_minor::text, 'currency', r.currency,
        'reason', r.reason, 'status', r.status, 'requested_at', r.requested_at) ORDER BY r.requested_at, r.refund_ref)
       FROM order_refunds r WHERE r.order_id = o.order_id) AS refunds,
    (SELECT json_agg(json_build_object(
        'payment_id', u.payment_id, 'merchant_id', u.merchant_id, 'provider', u.provider,
        'provider_transaction_id', u.provider_transaction_id, 'amount_minor', u.amount_minor::text,
        'currency', u.currency, 'reason', u.reason, 'refund_ref', u.refund_ref,
        'description', u.description, 'refund_status', u.refund_status,
        'refund_failed_reason', u.refund_failed_reason) ORDER BY u.recorded_at, u.payment_id)
       FROM unowned_captures u WHERE u.order_id = o.order_id) AS unowned_captures
  FROM orders o`;

function currencyOf(text: string): CurrencyCode {
  const parsed = parseCurrencyCode(text.trim());
  if (!parsed.ok) {
    throw new Error(`stored currency is not in our table: ${text}`);
  }
  return parsed.value;
}

function storedMoney(amountMinor: string, currency: string): Money {
  return money(BigInt(amountMinor), currencyOf(currency));
}

function toUnownedCapture(capture: UnownedCaptureJson): UnownedCapture {
  return {
    paymentId: capture.payment_id,
    merchantId: capture.merchant_id,
    provider: capture.provider,
    providerTransactionId: capture.provider_transaction_id ?? undefined,
    amount: storedMoney(capture.amount_minor, capture.currency),
    reason: capture.reason,
    refundRef: capture.refund_ref,
    description: capture.description,
    refundStatus: capture.refund_status,
    refundFailedReason: capture.refund_failed_reason ?? undefined,
  };
}

function toUnownedCaptureListing(row: UnownedCaptureRow): UnownedCaptureListing {
  return {
    orderId: row.order_id,
    capture: toUnownedCapture(row),
    recordedAt: row.recorded_at,
    refundOutcomeAt: row.refund_outcome_at ?? undefined,
  };
}

function toOrder(row: OrderRow): Order {
  const lines: OrderLine[] = (row.lines ?? []).map((line) => ({
    sku: line.sku,
    category: line.category,
    quantity: BigInt(line.quantity),
    unitPrice: storedMoney(line.unit_price_minor, line.currency),
  }));
  const refunds: Refund[] = (row.refunds ?? []).map((refund) => ({
    refundRef: refund.refund_ref,
    amount: storedMoney(refund.amount_minor, refund.currency),
    reason: refund.reason,
    status: refund.status,
    requestedAt: new Date(refund.requested_at),
  }));
  const unownedCaptures: UnownedCapture[] = (row.unowned_captures ?? []).map(toUnownedCapture);
  return {
    orderId: row.order_id,
    merchantId: row.merchant_id,
    merchantOrderRef: row.merchant_order_ref,
    buyer: {
      buyerId: row.buyer_id,
      country: row.buyer_country ?? undefined,
      providerAccounts: row.buyer_provider_accounts.map((a) => ({ provider: a.provider, accountId: a.account_id })),
    },
    lines,
    total: storedMoney(row.total_minor, row.currency),
    channel: row.channel,
    preferredProvider: row.preferred_provider ?? undefined,
    status: row.status,
    paid: storedMoney(row.paid_minor, row.currency),
    refunded: storedMoney(row.refunded_minor, row.currency),
    paymentId: row.payment_id ?? undefined,
    paymentFailureReason: row.payment_failure_reason ?? undefined,
    cancelReason: row.cancel_reason ?? undefined,
    refunds,
    unownedCaptures,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

// One statement inserts every order of a batch and all their lines, so a create costs one round
// trip besides the outbox and the commit; lines are inserted only for orders that were. Rows go
// in sorted by (merchant_id, merchant_order_ref), so two batches wait for each other's unique-key
// locks in the same order and never deadlock.
const insertOrders = `
  WITH inserted AS (
    INSERT INTO orders (order_id, merchant_id, merchant_order_ref, buyer_id, buyer_country, currency,
      total_minor, channel, preferred_provider, status, paid_minor, refunded_minor, payment_id,
      payment_failure_reason, cancel_reason, created_at, updated_at, buyer_provider_accounts)
    SELECT o.order_id, o.merchant_id, o.merchant_order_ref, o.buyer_id, o.buyer_country, o.currency,
      o.total_minor, o.channel, o.preferred_provider, o.status, o.paid_minor, o.refunded_minor, NULL,
      NULL, NULL, o.created_at, o.updated_at, o.buyer_provider_accounts
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                $8::order_channel[], $9::payment_provider[], $10::order_status[], $11::bigint[], $12::bigint[],
                $13::timestamptz[], $14::timestamptz[], $22::jsonb[])
      WITH ORDINALITY AS o(order_id, merchant_id, merchant_order_ref, buyer_id, buyer_country, currency,
        total_minor, channel, preferred_provider, status, paid_minor, refunded_minor, created_at, updated_at,
        buyer_provider_accounts, n)
    ORDER BY o.n
    ON CONFLICT (merchant_id, merchant_order_ref) DO NOTHING
    RETURNING order_id
  ), lines AS (
    INSERT INTO order_lines (order_id, line_no, sku, category, quantity, unit_price_minor, currency)
    SELECT l.order_id, l.line_no, l.sku, l.category, l.quantity, l.unit_price_minor, l.currency
      FROM unnest($15::uuid[], $16::int[], $17::text[], $18::text[], $19::bigint[], $20::bigint[], $21::text[])
             AS l(order_id, line_no, sku, category, quantity, unit_price_minor, currency)
      JOIN inserted USING (order_id)
  )
  SELECT order_id FROM inserted`;

function compareRefs(a: Order, b: Order): number {
  if (a.merchantId !== b.merchantId) return a.merchantId < b.merchantId ? -1 : 1;
  if (a.merchantOrderRef !== b.merchantOrderRef) return a.merchantOrderRef < b.merchantOrderRef ? -1 : 1;
  return 0;
}

function insertOrdersValues(unsorted: readonly Order[]): unknown[] {
  const orders = [...unsorted].sort(compareRefs);
  const lines = orders.flatMap((order) => order.lines.map((line, index) => ({ order, line, index })));
  return [
    orders.map((o) => o.orderId),
    orders.map((o) => o.merchantId),
    orders.map((o) => o.merchantOrderRef),
    orders.map((o) => o.buyer.buyerId),
    orders.map((o) => o.buyer.country ?? null),
    orders.map((o) => o.total.currency),
    orders.map((o) => o.total.amountMinor.toString()),
    orders.map((o) => o.channel),
    orders.map((o) => o.preferredProvider ?? null),
    orders.map((o) => o.status),
    orders.map((o) => o.paid.amountMinor.toString()),
    orders.map((o) => o.refunded.amountMinor.toString()),
    orders.map((o) => o.createdAt),
    orders.map((o) => o.updatedAt),
    lines.map((l) => l.order.orderId),
    lines.map((l) => l.index),
    lines.map((l) => l.line.sku),
    lines.map((l) => l.line.category),
    lines.map((l) => l.line.quantity.toString()),
    lines.map((l) => l.line.unitPrice.amountMinor.toString()),
    lines.map((l) => l.line.unitPrice.currency),
    orders.map((o) => JSON.stringify(o.buyer.providerAccounts.map((a) => ({ provider: a.provider, account_id: a.accountId })))),
  ];
}

const updateOrder = `
  UPDATE orders SET status = $2, paid_minor = $3, refunded_minor = $4, payment_id = $5,
    payment_failure_reason = $6, cancel_reason = $7, updated_at = $8
  WHERE order_id = $1`;

const insertRefund = `
  INSERT INTO order_refunds (order_id, refund_ref, amount_minor, currency, reason, status, requested_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, 'requested', $6, $6)`;

// Keyed by payment id: a payment is refunded once, whichever order (or no order) it named.
const insertUnownedCaptures = `
  INSERT INTO unowned_captures (payment_id, order_id, merchant_id, provider, provider_transaction_id,
    amount_minor, currency, reason, refund_ref, description, recorded_at)
  SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::payment_provider[], $5::text[], $6::bigint[],
                       $7::text[], $8::unowned_capture_reason[], $9::text[], $10::text[], $11::timestamptz[])`;

function insertUnownedCapturesValues(events: readonly CaptureRefundRequestedEvent[]): unknown[] {
  return [
    events.map((e) => e.capture.paymentId),
    events.map((e) => e.orderId),
    events.map((e) => e.capture.merchantId),
    events.map((e) => e.capture.provider),
    events.map((e) => e.capture.providerTransactionId ?? null),
    events.map((e) => e.capture.amount.amountMinor.toString()),
    events.map((e) => e.capture.amount.currency),
    events.map((e) => e.capture.reason),
    events.map((e) => e.capture.refundRef),
    events.map((e) => e.capture.description),
    events.map((e) => e.at),
  ];
}

const selectUnownedCapture = `
  SELECT payment_id, order_id, merchant_id, provider, provider_transaction_id, amount_minor::text AS amount_minor,
    currency, reason, refund_ref, description, refund_status, refund_failed_reason, recorded_at, refund_outcome_at
  FROM unowned_captures`;

// A completed refund keeps the reason of an earlier failed attempt: it says what happened.
const updateCaptureRefund = `
  UPDATE unowned_captures
     SET refund_status = $3, refund_failed_reason = COALESCE($4, refund_failed_reason), refund_outcome_at = $5
   WHERE payment_id = $1 AND refund_ref = $2`;

async function recordCaptureRefundOutcomes(tx: Tx, events: readonly CaptureRefundOutcomeEvent[]): Promise<void> {
  for (const event of events) {
    const status: CaptureRefundStatus = event.type === "capture_refund_completed" ? "refunded" : "refund_failed";
    const reason = event.type === "capture_refund_failed" ? event.reason : null;
    const result = await tx.query(updateCaptureRefund, [event.paymentId, event.refundRef, status, reason, event.at]);
    // Decided on a row read under a lock in this transaction, so it must still be there.
    if (result.rowCount !== 1) {
      throw new Error(`${event.type}: no unowned capture of payment ${event.paymentId} with refund_ref ${event.refundRef}`);
    }
  }
}

const updateRefund = `UPDATE order_refunds SET status = $3, updated_at = $4 WHERE order_id = $1 AND refund_ref = $2`;

function listQuery(query: OrderListQuery): { text: string; values: unknown[] } {
  const values: unknown[] = [query.merchantId];
  const where = ["o.merchant_id = $1"];
  if (query.statuses.length > 0) {
    values.push(query.statuses);
    where.push(`o.status = ANY($${values.length}::order_status[])`);
  }
  if (query.createdFrom !== undefined) {
    values.push(query.createdFrom);
    where.push(`o.created_at >= $${values.length}`);
  }
  if (query.createdTo !== undefined) {
    values.push(query.createdTo);
    where.push(`o.created_at < $${values.length}`);
  }
  const after: ListCursor | undefined = query.after;
  if (after !== undefined) {
    values.push(after.createdAt, after.orderId);
    where.push(`(o.created_at, o.order_id) < ($${values.length - 1}, $${values.length}::uuid)`);
  }
  values.push(query.limit);
  return {
    text: `${selectOrder} WHERE ${where.join(" AND ")} ORDER BY o.created_at DESC, o.order_id DESC LIMIT $${values.length}`,
    values,
  };
}

/**
 * The {@link OrderStore} on Postgres with plain `pg` SQL: the create path is one statement, and
 * loads bring the lines and refunds back in the same round trip as JSON.
 */
export function createPgOrderStore(): OrderStore {
  return {
    async insertManyIfAbsent(tx: Tx, orders: readonly Order[]): Promise<ReadonlySet<string>> {
      if (orders.length === 0) return new Set();
      const result = await tx.query<{ order_id: string }>({
        name: "order-insert-many",
        text: insertOrders,
        values: insertOrdersValues(orders),
      });
      return new Set(result.rows.map((row) => row.order_id));
    },

    async findByMerchantRefs(db: Reader, refs: readonly MerchantRef[]): Promise<ReadonlyMap<string, Order>> {
      const found = new Map<string, Order>();
      if (refs.length === 0) return found;
      const result = await db.query<OrderRow>(
        `${selectOrder} WHERE (o.merchant_id, o.merchant_order_ref) IN
           (SELECT * FROM unnest($1::text[], $2::text[]))`,
        [refs.map((r) => r.merchantId), refs.map((r) => r.merchantOrderRef)],
      );
      for (const row of result.rows) {
        const order = toOrder(row);
        found.set(merchantRefKey(order), order);
      }
      return found;
    },

    async load(db: Reader, orderId: string, options: { readonly forUpdate: boolean }): Promise<Order | undefined> {
      const lock = options.forUpdate ? " FOR UPDATE OF o" : "";
      const result = await db.query<OrderRow>(`${selectOrder} WHERE o.order_id = $1${lock}`, [orderId]);
      const row = result.rows[0];
      return row === undefined ? undefined : toOrder(row);
    },

    async save(tx: Tx, order: Order, events: readonly OrderEvent[]): Promise<void> {
      // Decided under the order's row lock, so a conflict here means another order already
      // recorded this payment id: the insert fails rather than request a second refund.
      const unowned = events.filter((event) => event.type === "capture_refund_requested");
      if (unowned.length > 0) await tx.query(insertUnownedCaptures, insertUnownedCapturesValues(unowned));
      await recordCaptureRefundOutcomes(
        tx,
        events.filter((event) => event.type === "capture_refund_completed" || event.type === "capture_refund_failed"),
      );
      for (const event of events) {
        if (event.type === "order_refund_requested") {
          await tx.query(insertRefund, [
            order.orderId,
            event.refundRef,
            event.amount.amountMinor.toString(),
            event.amount.currency,
            event.reason,
            event.at,
          ]);
        } else if (event.type === "order_refund_completed" || event.type === "order_refund_failed") {
          const status: RefundStatus = event.type === "order_refund_completed" ? "completed" : "failed";
          await tx.query(updateRefund, [order.orderId, event.refundRef, status, event.at]);
        }
      }
      await tx.query(updateOrder, [
        order.orderId,
        order.status,
        order.paid.amountMinor.toString(),
        order.refunded.amountMinor.toString(),
        order.paymentId ?? null,
        order.paymentFailureReason ?? null,
        order.cancelReason ?? null,
        order.updatedAt,
      ]);
    },

    async insertUnownedCapturesIfAbsent(
      tx: Tx,
      events: readonly CaptureRefundRequestedEvent[],
    ): Promise<readonly CaptureRefundRequestedEvent[]> {
      if (events.length === 0) return [];
      const result = await tx.query<{ payment_id: string }>(
        `${insertUnownedCaptures} ON CONFLICT (payment_id) DO NOTHING RETURNING payment_id`,
        insertUnownedCapturesValues(events),
      );
      const inserted = new Set(result.rows.map((row) => row.payment_id));
      return events.filter((event) => inserted.delete(event.capture.paymentId));
    },

    async loadUnownedCapture(
      db: Reader,
      refundRef: string,
      options: { readonly forUpdate: boolean },
    ): Promise<RecordedUnownedCapture | undefined> {
      const lock = options.forUpdate ? " FOR UPDATE" : "";
      const result = await db.query<UnownedCaptureRow>(`${selectUnownedCapture} WHERE refund_ref = $1${lock}`, [refundRef]);
      const row = result.rows[0];
      if (row === undefined) return undefined;
      const { orderId, capture } = toUnownedCaptureListing(row);
      return { orderId, capture };
    },

    recordCaptureRefundOutcomes,

    async listUnownedCaptures(db: Reader, query: UnownedCaptureQuery): Promise<UnownedCaptureListing[]> {
      const result = await db.query<UnownedCaptureRow>(
        `${selectUnownedCapture}
          WHERE cardinality($1::capture_refund_status[]) = 0 OR refund_status = ANY($1::capture_refund_status[])
          ORDER BY recorded_at, payment_id LIMIT $2`,
        [query.refundStatuses, query.limit],
      );
      return result.rows.map(toUnownedCaptureListing);
    },

    async list(db: Reader, query: OrderListQuery): Promise<Order[]> {
      const { text, values } = listQuery(query);
      const result = await db.query<OrderRow>(text, values);
      return result.rows.map(toOrder);
    },
  };
}
