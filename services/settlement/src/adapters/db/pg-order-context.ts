import type { Queryable } from "./pg-ledger.js";

/** What settlement keeps about an order: its reference, and what its provider fee may depend on. */
export interface OrderContext {
  readonly orderId: string;
  readonly merchantOrderRef: string;
  readonly channel: string | undefined;
  readonly category: string | undefined;
}

/** Records an order's context once (the first `OrderAccepted` wins; an order does not change them). */
export async function recordOrderContext(tx: Queryable, context: OrderContext): Promise<void> {
  await tx.query(
    "INSERT INTO order_context (order_id, merchant_order_ref, channel, category) VALUES ($1, $2, $3, $4) ON CONFLICT (order_id) DO NOTHING",
    [context.orderId, context.merchantOrderRef, context.channel ?? null, context.category ?? null],
  );
}

/** The contexts of these orders that are known, by order id. */
export async function orderContexts(db: Queryable, orderIds: readonly string[]): Promise<Map<string, OrderContext>> {
  if (orderIds.length === 0) return new Map();
  const { rows } = await db.query<{ order_id: string; merchant_order_ref: string; channel: string | null; category: string | null }>(
    "SELECT order_id, merchant_order_ref, channel, category FROM order_context WHERE order_id = ANY ($1::text[])",
    [orderIds],
  );
  return new Map(
    rows.map((r) => [r.order_id, { orderId: r.order_id, merchantOrderRef: r.merchant_order_ref, channel: r.channel ?? undefined, category: r.category ?? undefined }]),
  );
}
