import { create } from "@bufbuild/protobuf";
import { ordersTopic } from "@tributary/contracts";
import {
  CaptureRefundRequestedSchema,
  OrderAcceptedSchema,
  OrderCancelledSchema,
  OrderPaidSchema,
  OrderPaymentFailedSchema,
  OrderRefundRequestedSchema,
  OrderRejectedSchema,
  UnownedCaptureReason as ProtoUnownedCaptureReason,
} from "@tributary/contracts/order/v1/order_events";
import { appendToOutbox, type OutboxEvent } from "@tributary/events";
import { assertNever } from "@tributary/result";
import type { OrderChange, OrderOutbox, OrderRejection, Tx } from "../../app/ports.js";
import type { Order, UnownedCaptureReason } from "../../domain/order.js";
import type { CaptureRefundRequestedEvent, OrderEvent } from "../../domain/order-event.js";
import { moneyToProto, providerToProto, toOrderMessage } from "../proto/order-messages.js";

/** The `producer` header of everything the order service publishes. */
export const ORDER_PRODUCER = "order";

type OrdersEvent = OutboxEvent<typeof ordersTopic>;

function unownedCaptureReasonToProto(reason: UnownedCaptureReason): ProtoUnownedCaptureReason {
  switch (reason) {
    case "order_cancelled":
      return ProtoUnownedCaptureReason.ORDER_CANCELLED;
    case "order_payment_failed":
      return ProtoUnownedCaptureReason.ORDER_PAYMENT_FAILED;
    case "already_paid_by_other_payment":
      return ProtoUnownedCaptureReason.ALREADY_PAID_BY_OTHER_PAYMENT;
    case "order_unknown":
      return ProtoUnownedCaptureReason.ORDER_UNKNOWN;
    default:
      return assertNever(reason, "unowned capture reason");
  }
}

/** `CaptureRefundRequested`, keyed by the order id the capture named (as on `payments.v1`). */
function captureRefundRequested(event: CaptureRefundRequestedEvent): OrdersEvent {
  const { capture } = event;
  return {
    key: event.orderId,
    schema: CaptureRefundRequestedSchema,
    message: create(CaptureRefundRequestedSchema, {
      orderId: event.orderId,
      paymentId: capture.paymentId,
      merchantId: capture.merchantId,
      provider: providerToProto(capture.provider),
      providerTransactionId: capture.providerTransactionId ?? "",
      amount: moneyToProto(capture.amount),
      reason: unownedCaptureReasonToProto(capture.reason),
      refundRef: capture.refundRef,
      description: capture.description,
    }),
    occurredAt: event.at,
  };
}

function toOutboxEvent(order: Order, event: OrderEvent): OrdersEvent | undefined {
  const key = order.orderId;
  switch (event.type) {
    case "order_accepted":
      return { key, schema: OrderAcceptedSchema, message: create(OrderAcceptedSchema, { order: toOrderMessage(order) }), occurredAt: event.at };
    case "order_paid":
      return {
        key,
        schema: OrderPaidSchema,
        message: create(OrderPaidSchema, { orderId: key, paymentId: event.paymentId, amount: moneyToProto(event.amount) }),
        occurredAt: event.at,
      };
    case "order_payment_failed":
      return {
        key,
        schema: OrderPaymentFailedSchema,
        message: create(OrderPaymentFailedSchema, { orderId: key, paymentId: event.paymentId, reason: event.reason }),
        occurredAt: event.at,
      };
    case "order_cancelled":
      return {
        key,
        schema: OrderCancelledSchema,
        message: create(OrderCancelledSchema, { orderId: key, reason: event.reason }),
        occurredAt: event.at,
      };
    case "order_refund_requested":
      return {
        key,
        schema: OrderRefundRequestedSchema,
        message: create(OrderRefundRequestedSchema, {
          orderId: key,
          refundRef: event.refundRef,
          amount: moneyToProto(event.amount),
          reason: event.reason,
        }),
        occurredAt: event.at,
      };
    case "capture_refund_requested":
      return captureRefundRequested(event);
    // Refund outcomes are payment-routing's own news on payments.v1; we only record them (a
    // failed capture refund is also logged, and listed from unowned_captures for operators).
    case "order_refund_completed":
    case "order_refund_failed":
    case "capture_refund_completed":
    case "capture_refund_failed":
      return undefined;
    default:
      return assertNever(event, "order event");
  }
}

/**
 * The {@link OrderOutbox} on `@tributary/events`: each public domain event becomes its
 * `orders.v1` message keyed by order id; `OrderRejected` (no order id exists) is keyed by
 * `merchant_id/merchant_order_ref`, the same key the upstream system used on `orders.inbound.v1`.
 * `CaptureRefundRequested` of a capture naming no order is keyed by the id it named.
 */
export function createOrderOutbox(): OrderOutbox {
  return {
    async appendEvents(tx: Tx, changes: readonly OrderChange[]): Promise<void> {
      const outgoing = changes.flatMap(({ order, events, traceContext }) =>
        events.flatMap((event) => {
          const outboxEvent = toOutboxEvent(order, event);
          if (outboxEvent === undefined) return [];
          return traceContext === undefined ? [outboxEvent] : [{ ...outboxEvent, traceContext }];
        }),
      );
      if (outgoing.length > 0) await appendToOutbox(tx, ORDER_PRODUCER, ordersTopic, outgoing);
    },
    async appendRejected(tx: Tx, rejection: OrderRejection): Promise<void> {
      await appendToOutbox(tx, ORDER_PRODUCER, ordersTopic, [
        {
          key: `${rejection.merchantId}/${rejection.merchantOrderRef}`,
          schema: OrderRejectedSchema,
          message: create(OrderRejectedSchema, {
            merchantId: rejection.merchantId,
            merchantOrderRef: rejection.merchantOrderRef,
            reasons: rejection.reasons.map((r) => ({ field: r.field, description: r.description })),
          }),
        },
      ]);
    },
    async appendUnownedCaptures(tx: Tx, events: readonly CaptureRefundRequestedEvent[]): Promise<void> {
      if (events.length > 0) await appendToOutbox(tx, ORDER_PRODUCER, ordersTopic, events.map(captureRefundRequested));
    },
  };
}
