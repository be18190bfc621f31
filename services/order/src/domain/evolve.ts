import { add, subtract, zero } from "@tributary/money";
import { assertNever } from "@tributary/result";
import type { Order, OrderState, OrderStatus, Refund, UnownedCapture } from "./order.js";
import type { CaptureRefundOutcomeEvent, OrderEvent } from "./order-event.js";

function requireOrder(state: OrderState, event: OrderEvent): Order {
  if (state.status === "none") {
    throw new Error(`${event.type} applied before the order exists`);
  }
  return state;
}

/** Paid orders take their status from the amounts, so a failed refund moves the status back. */
function refundStatus(order: Order): OrderStatus {
  if (order.refunded.amountMinor === 0n) return "paid";
  return order.refunded.amountMinor < order.paid.amountMinor ? "partially_refunded" : "refunded";
}

function withRefund(order: Order, refundRef: string, change: (refund: Refund) => Refund): readonly Refund[] {
  return order.refunds.map((refund) => (refund.refundRef === refundRef ? change(refund) : refund));
}

/**
 * Applies one event that {@link decide} produced. Pure and total over legal histories; an event
 * that cannot follow the state (a bug, never input) throws rather than bend the state.
 */
export function evolve(state: OrderState, event: OrderEvent): OrderState {
  switch (event.type) {
    case "order_accepted": {
      if (state.status !== "none") {
        throw new Error(`order_accepted applied to existing order ${state.orderId}`);
      }
      const currency = event.draft.total.currency;
      return {
        ...event.draft,
        orderId: event.orderId,
        status: "accepted",
        paid: zero(currency),
        refunded: zero(currency),
        paymentId: undefined,
        paymentFailureReason: undefined,
        cancelReason: undefined,
        refunds: [],
        unownedCaptures: [],
        createdAt: event.at,
        updatedAt: event.at,
      };
    }
    case "order_paid": {
      const order = requireOrder(state, event);
      return { ...order, status: "paid", paid: event.amount, paymentId: event.paymentId, updatedAt: event.at };
    }
    case "order_payment_failed": {
      const order = requireOrder(state, event);
      return {
        ...order,
        status: "payment_failed",
        paymentId: event.paymentId,
        paymentFailureReason: event.reason,
        updatedAt: event.at,
      };
    }
    case "order_cancelled": {
      const order = requireOrder(state, event);
      return { ...order, status: "cancelled", cancelReason: event.reason, updatedAt: event.at };
    }
    case "order_refund_requested": {
      const order = requireOrder(state, event);
      const refund: Refund = {
        refundRef: event.refundRef,
        amount: event.amount,
        reason: event.reason,
        status: "requested",
        requestedAt: event.at,
      };
      const next = { ...order, refunded: add(order.refunded, event.amount), refunds: [...order.refunds, refund], updatedAt: event.at };
      return { ...next, status: refundStatus(next) };
    }
    case "order_refund_completed": {
      const order = requireOrder(state, event);
      return {
        ...order,
        refunds: withRefund(order, event.refundRef, (refund) => ({ ...refund, status: "completed" })),
        updatedAt: event.at,
      };
    }
    case "order_refund_failed": {
      const order = requireOrder(state, event);
      const next = {
        ...order,
        refunded: subtract(order.refunded, event.amount),
        refunds: withRefund(order, event.refundRef, (refund) => ({ ...refund, status: "failed" as const })),
        updatedAt: event.at,
      };
      return { ...next, status: refundStatus(next) };
    }
    // The order does not take the capture: its status, amounts and updatedAt stay as they were.
    // With no order at all (order_unknown) there is nothing to change.
    case "capture_refund_requested": {
      if (state.status === "none") return state;
      if (state.unownedCaptures.some((capture) => capture.paymentId === event.capture.paymentId)) {
        throw new Error(`capture of payment ${event.capture.paymentId} recorded twice on order ${state.orderId}`);
      }
      return { ...state, unownedCaptures: [...state.unownedCaptures, event.capture] };
    }
    // A capture refund's outcome changes only the capture's record, never the order's own state.
    case "capture_refund_completed":
    case "capture_refund_failed": {
      if (state.status === "none") return state;
      if (!state.unownedCaptures.some((capture) => capture.paymentId === event.paymentId)) {
        throw new Error(`${event.type} for payment ${event.paymentId}, which order ${state.orderId} never recorded`);
      }
      return {
        ...state,
        unownedCaptures: state.unownedCaptures.map((capture) =>
          capture.paymentId === event.paymentId ? evolveUnownedCapture(capture, event) : capture,
        ),
      };
    }
    default:
      return assertNever(event, "order event");
  }
}

/** An unowned capture after the outcome of its refund (for an order's captures and for ones naming no order). */
export function evolveUnownedCapture(capture: UnownedCapture, event: CaptureRefundOutcomeEvent): UnownedCapture {
  switch (event.type) {
    case "capture_refund_completed":
      return { ...capture, refundStatus: "refunded" };
    case "capture_refund_failed":
      return { ...capture, refundStatus: "refund_failed", refundFailedReason: event.reason };
    default:
      return assertNever(event, "capture refund outcome");
  }
}

/** Folds a list of events over a state: how tests build "given" states and how the app applies a decision. */
export function evolveAll(state: OrderState, events: readonly OrderEvent[]): OrderState {
  return events.reduce(evolve, state);
}
