import type { Context } from "@opentelemetry/api";
import type { Pool, PoolClient } from "pg";
import type { FieldViolation } from "../domain/order-error.js";
import type { Order, OrderStatus } from "../domain/order.js";
import type { CaptureRefundRequestedEvent, OrderEvent } from "../domain/order-event.js";

/** A connection inside an open transaction: every write of one use case goes through one. */
export type Tx = PoolClient;

/** Anything that can run a read: the pool for plain reads, a transaction inside a use case. */
export type Reader = Pool | PoolClient;

/** Where a page of {@link OrderStore.list} starts: after this (created_at, order_id), newest first. */
export interface ListCursor {
  readonly createdAt: Date;
  readonly orderId: string;
}

/** The idempotency key of an order: merchant and the merchant's own reference. */
export interface MerchantRef {
  readonly merchantId: string;
  readonly merchantOrderRef: string;
}

/** One string per {@link MerchantRef}, for maps (ids cannot contain a NUL). */
export function merchantRefKey(ref: MerchantRef): string {
  return `${ref.merchantId}\u0000${ref.merchantOrderRef}`;
}

/** A validated ListOrders query. */
export interface OrderListQuery {
  readonly merchantId: string;
  readonly statuses: readonly OrderStatus[];
  readonly createdFrom: Date | undefined;
  readonly createdTo: Date | undefined;
  readonly after: ListCursor | undefined;
  readonly limit: number;
}

/**
 * The order table as the use cases need it. The Postgres adapter implements it with plain SQL;
 * it exists so the use cases read as load → decide → persist without SQL in them.
 */
export interface OrderStore {
  /**
   * Inserts new orders, each unless its merchant already has an order with the same reference;
   * returns the ids of the orders it inserted. Concurrent inserts of one reference serialise on
   * the unique index, so exactly one of them inserts; a reference repeated within `orders` is
   * inserted once (the first).
   */
  insertManyIfAbsent(tx: Tx, orders: readonly Order[]): Promise<ReadonlySet<string>>;
  /** The merchants' orders with these references, keyed by {@link merchantRefKey}. */
  findByMerchantRefs(db: Reader, refs: readonly MerchantRef[]): Promise<ReadonlyMap<string, Order>>;
  /** One order by id; `forUpdate` locks its row until the transaction ends. */
  load(db: Reader, orderId: string, options: { readonly forUpdate: boolean }): Promise<Order | undefined>;
  /**
   * Writes the order after `events` (which `decide` produced and `evolve` applied), including the
   * unowned captures they record; a payment id already recorded (for any order) fails the write.
   */
  save(tx: Tx, order: Order, events: readonly OrderEvent[]): Promise<void>;
  /**
   * Records captures that name no existing order, each unless its payment id is already recorded;
   * returns the ones it recorded. The payment id is the key, so concurrent deliveries of one
   * capture serialise on it and exactly one of them records it.
   */
  insertUnownedCapturesIfAbsent(
    tx: Tx,
    events: readonly CaptureRefundRequestedEvent[],
  ): Promise<readonly CaptureRefundRequestedEvent[]>;
  /** One page of a merchant's orders, newest first. */
  list(db: Reader, query: OrderListQuery): Promise<Order[]>;
}

/** An order placed on Kafka that was refused, for `OrderRejected`. */
export interface OrderRejection {
  readonly merchantId: string;
  readonly merchantOrderRef: string;
  readonly reasons: readonly FieldViolation[];
}

/**
 * The order service's side of the transactional outbox: turns domain events into `orders.v1`
 * messages and appends them in the caller's transaction, so they are published if and only if
 * the state change commits.
 */
export interface OrderOutbox {
  appendEvents(tx: Tx, changes: readonly OrderChange[]): Promise<void>;
  appendRejected(tx: Tx, rejection: OrderRejection): Promise<void>;
  /** `CaptureRefundRequested` for captures that name no existing order (keyed by the named id). */
  appendUnownedCaptures(tx: Tx, events: readonly CaptureRefundRequestedEvent[]): Promise<void>;
}

/** One order after a decision, and the events that led there. */
export interface OrderChange {
  readonly order: Order;
  readonly events: readonly OrderEvent[];
  /**
   * The trace of the request that caused the change, when several requests' changes are written
   * together (group commit); the active trace otherwise. Opaque here: only the outbox reads it.
   */
  readonly traceContext?: TraceContext;
}

/** A request's trace context, carried through the app layer without being looked into. */
export type TraceContext = Context;

/** What every use case needs: storage, the outbox, a clock and an order id generator. */
export interface OrderDeps {
  readonly store: OrderStore;
  readonly outbox: OrderOutbox;
  readonly clock: () => Date;
  readonly newOrderId: () => string;
}
