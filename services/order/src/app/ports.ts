import type { Context } from "@opentelemetry/api";
import type { Pool, PoolClient } from "pg";
import type { FieldViolation } from "../domain/order-error.js";
import type { CaptureRefundStatus, Order, OrderStatus, RecordedUnownedCapture } from "../domain/order.js";
import type { CaptureRefundOutcomeEvent, CaptureRefundRequestedEvent, OrderEvent } from "../domain/order-event.js";

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

/** Which unowned captures an operator asks for: by refund status, oldest first. */
export interface UnownedCaptureQuery {
  /** Empty: every status. `["refund_failed"]` is the money an operator must look after. */
  readonly refundStatuses: readonly CaptureRefundStatus[];
  readonly limit: number;
}

/** An unowned capture as an operator sees it: where it is recorded, and when things happened. */
export interface UnownedCaptureListing extends RecordedUnownedCapture {
  readonly recordedAt: Date;
  /** When payment-routing's last reply on its refund was recorded; undefined while none came. */
  readonly refundOutcomeAt: Date | undefined;
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
  /**
   * The unowned capture whose refund is `refundRef`, wherever it is recorded (also under an order
   * id that names no order); `forUpdate` locks its row, which is what serialises two replies on
   * the refund of a capture that has no order row to lock.
   */
  loadUnownedCapture(db: Reader, refundRef: string, options: { readonly forUpdate: boolean }): Promise<RecordedUnownedCapture | undefined>;
  /**
   * Records what payment-routing replied about capture refunds (decided under the lock of the
   * order row, or of the capture row when it names no order). Each event must match one row.
   */
  recordCaptureRefundOutcomes(tx: Tx, events: readonly CaptureRefundOutcomeEvent[]): Promise<void>;
  /** Unowned captures by refund status, oldest first: how operators find refunds that failed. */
  listUnownedCaptures(db: Reader, query: UnownedCaptureQuery): Promise<UnownedCaptureListing[]>;
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
