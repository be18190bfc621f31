import type { Money } from "@tributary/money";
import type { OrderDraft, UnownedCapture } from "./order.js";

/**
 * What happened to an order, as {@link decide} reports it and {@link evolve} applies it. The
 * first five and `capture_refund_requested` have a public counterpart on `orders.v1`; the refund
 * outcomes (of merchants' refunds and of capture refunds) are internal bookkeeping of what
 * payment-routing reported.
 */
export type OrderEvent =
  | { readonly type: "order_accepted"; readonly orderId: string; readonly draft: OrderDraft; readonly at: Date }
  | {
      readonly type: "order_paid";
      readonly orderId: string;
      readonly paymentId: string;
      readonly amount: Money;
      readonly at: Date;
    }
  | {
      readonly type: "order_payment_failed";
      readonly orderId: string;
      readonly paymentId: string;
      readonly reason: string;
      readonly at: Date;
    }
  | { readonly type: "order_cancelled"; readonly orderId: string; readonly reason: string; readonly at: Date }
  | {
      readonly type: "order_refund_requested";
      readonly orderId: string;
      readonly refundRef: string;
      readonly amount: Money;
      readonly reason: string;
      readonly at: Date;
    }
  | {
      readonly type: "order_refund_completed";
      readonly orderId: string;
      readonly refundRef: string;
      readonly at: Date;
    }
  | {
      readonly type: "order_refund_failed";
      readonly orderId: string;
      readonly refundRef: string;
      readonly amount: Money;
      readonly reason: string;
      readonly at: Date;
    }
  | CaptureRefundRequestedEvent
  | CaptureRefundOutcomeEvent;

/**
 * A capture arrived that the order does not take (or for an order id that names no order): it is
 * recorded and its refund requested; the order's own state (status, paid) does not change.
 */
export interface CaptureRefundRequestedEvent {
  readonly type: "capture_refund_requested";
  readonly orderId: string;
  readonly capture: UnownedCapture;
  readonly at: Date;
}

/**
 * Payment-routing reported the refund of an unowned capture: done for the whole captured amount,
 * or failed with its reason. Internal bookkeeping (payment-routing's own news is on
 * `payments.v1`); the order's own state does not change, and for a capture naming no order there
 * is no order at all.
 */
export type CaptureRefundOutcomeEvent =
  | {
      readonly type: "capture_refund_completed";
      /** The order id the capture named (it may name no order). */
      readonly orderId: string;
      readonly paymentId: string;
      readonly refundRef: string;
      readonly at: Date;
    }
  | {
      readonly type: "capture_refund_failed";
      readonly orderId: string;
      readonly paymentId: string;
      readonly refundRef: string;
      readonly reason: string;
      readonly at: Date;
    };

/** The event names, for exhaustive switches outside the domain. */
export type OrderEventType = OrderEvent["type"];
