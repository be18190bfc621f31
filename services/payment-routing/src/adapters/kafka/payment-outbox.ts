import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { paymentsTopic, providerIdToProto } from "@tributary/contracts";
import { MoneySchema, type Money as ProtoMoney } from "@tributary/contracts/common/v1/money";
import { Provider } from "@tributary/contracts/common/v1/provider";
import {
  PaymentCapturedSchema,
  PaymentFailedSchema,
  PaymentRefundedSchema,
  PaymentRoutedSchema,
  RefundFailedSchema,
} from "@tributary/contracts/payment/v1/payment_events";
import { appendToOutbox, type OutboxEvent } from "@tributary/events";
import type { Money } from "@tributary/money";
import { assertNever } from "@tributary/result";
import type { PaymentEvent, PaymentOutbox, TracedPaymentEvent, Tx } from "../../app/ports.js";

/** The `producer` header (and service-kit name) of everything payment-routing publishes. */
export const PAYMENT_ROUTING_PRODUCER = "payment-routing";

type PaymentsEvent = OutboxEvent<typeof paymentsTopic>;

function moneyToProto(amount: Money): ProtoMoney {
  return create(MoneySchema, { currency: amount.currency, amountMinor: amount.amountMinor });
}

/** One lifecycle event as its `payments.v1` message, keyed by order id (one order's events stay in order). */
export function toPaymentsEvent(event: PaymentEvent): PaymentsEvent {
  switch (event.type) {
    case "payment_routed": {
      const p = event.payment;
      return {
        key: p.orderId,
        schema: PaymentRoutedSchema,
        message: create(PaymentRoutedSchema, {
          paymentId: p.paymentId,
          orderId: p.orderId,
          merchantId: p.merchantId,
          provider: providerIdToProto(p.provider),
          routingRule: p.routingRule,
          amount: moneyToProto(p.amount),
        }),
      };
    }
    case "payment_captured": {
      const p = event.payment;
      return {
        key: p.orderId,
        schema: PaymentCapturedSchema,
        message: create(PaymentCapturedSchema, {
          paymentId: p.paymentId,
          orderId: p.orderId,
          merchantId: p.merchantId,
          provider: providerIdToProto(p.provider),
          providerTransactionId: event.providerTransactionId ?? "",
          amount: moneyToProto(p.amount),
          fee: moneyToProto(event.fee),
          capturedAt: timestampFromDate(event.capturedAt),
        }),
      };
    }
    case "payment_failed":
      return {
        key: event.orderId,
        schema: PaymentFailedSchema,
        message: create(PaymentFailedSchema, {
          paymentId: event.paymentId,
          orderId: event.orderId,
          merchantId: event.merchantId,
          provider: event.provider === undefined ? Provider.UNSPECIFIED : providerIdToProto(event.provider),
          reasonCode: event.reasonCode,
          providerMessage: event.providerMessage,
        }),
      };
    case "payment_refunded": {
      const p = event.payment;
      return {
        key: event.refund.orderId,
        schema: PaymentRefundedSchema,
        message: create(PaymentRefundedSchema, {
          paymentId: p.paymentId,
          orderId: event.refund.orderId,
          merchantId: p.merchantId,
          provider: providerIdToProto(p.provider),
          refundRef: event.refund.refundRef,
          providerRefundId: event.providerRefundId ?? "",
          amount: moneyToProto(event.refund.amount),
          feeReturned: moneyToProto(event.feeReturned),
          refundedAt: timestampFromDate(event.refundedAt),
        }),
      };
    }
    case "refund_failed":
      return {
        key: event.orderId,
        schema: RefundFailedSchema,
        message: create(RefundFailedSchema, {
          paymentId: event.paymentId,
          orderId: event.orderId,
          refundRef: event.refundRef,
          reasonCode: event.reasonCode,
          providerMessage: event.providerMessage,
        }),
      };
    default:
      return assertNever(event, "payment event");
  }
}

/** The event's message, continuing the event's own trace when it names one. */
function withTrace(event: TracedPaymentEvent): PaymentsEvent {
  const message = toPaymentsEvent(event);
  return event.traceContext === undefined ? message : { ...message, traceContext: event.traceContext };
}

/** The {@link PaymentOutbox} on `@tributary/events`: appended in the caller's transaction, published by the relay. */
export function createPaymentOutbox(): PaymentOutbox {
  return {
    async append(tx: Tx, events: readonly TracedPaymentEvent[]): Promise<void> {
      if (events.length > 0) await appendToOutbox(tx, PAYMENT_ROUTING_PRODUCER, paymentsTopic, events.map(withTrace));
    },
  };
}
