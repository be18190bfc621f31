import { paymentsTopic, type TopicMessage } from "@tributary/contracts";
import type { Money as ProtoMoney } from "@tributary/contracts/common/v1/money";
import { NonRetryableError, startIdempotentConsumer, type IdempotentConsumer } from "@tributary/events";
import { INT64_MAX, money, parseCurrencyCode, type Money } from "@tributary/money";
import { assertNever } from "@tributary/result";
import type { Kafka } from "kafkajs";
import type { Pool } from "pg";
import type { OrderDeps } from "../../app/ports.js";
import { recordPaymentOutcome, type PaymentOutcome } from "../../app/record-payment-outcome.js";
import { isOrderId } from "../../domain/order-id.js";

/** Consumer group of the order service on `payments.v1`. */
export const ORDER_PAYMENTS_GROUP = "order-payments";

function amountOf(field: string, amount: ProtoMoney | undefined): Money {
  if (amount === undefined) throw new NonRetryableError(`${field} is missing`);
  const currency = parseCurrencyCode(amount.currency);
  if (!currency.ok) throw new NonRetryableError(`${field}.currency ${JSON.stringify(amount.currency)} is unknown`);
  if (amount.amountMinor <= 0n || amount.amountMinor > INT64_MAX) {
    throw new NonRetryableError(`${field}.amount_minor must be positive`);
  }
  return money(amount.amountMinor, currency.value);
}

/** A failure as the order keeps it: our reason code, with the provider's words when it gave any. */
function failureReason(reasonCode: string, providerMessage: string): string {
  return providerMessage === "" ? reasonCode : `${reasonCode}: ${providerMessage}`;
}

/** The order a payment event is about and what it says, or `undefined` for events we ignore. */
export function paymentOutcomeOf(
  message: TopicMessage<typeof paymentsTopic>,
): { orderId: string; outcome: PaymentOutcome } | undefined {
  switch (message.$typeName) {
    case "tributary.payment.v1.PaymentRouted":
      return undefined;
    case "tributary.payment.v1.PaymentCaptured":
      return {
        orderId: message.orderId,
        outcome: { type: "record_payment_captured", paymentId: message.paymentId, amount: amountOf("amount", message.amount) },
      };
    case "tributary.payment.v1.PaymentFailed":
      return {
        orderId: message.orderId,
        outcome: {
          type: "record_payment_failed",
          paymentId: message.paymentId,
          reason: failureReason(message.reasonCode, message.providerMessage),
        },
      };
    case "tributary.payment.v1.PaymentRefunded":
      return {
        orderId: message.orderId,
        outcome: { type: "record_refund_completed", refundRef: message.refundRef, amount: amountOf("amount", message.amount) },
      };
    case "tributary.payment.v1.RefundFailed":
      return {
        orderId: message.orderId,
        outcome: {
          type: "record_refund_failed",
          refundRef: message.refundRef,
          reason: failureReason(message.reasonCode, message.providerMessage),
        },
      };
    default:
      return assertNever(message, "payments.v1 message");
  }
}

/**
 * Moves orders forward on `payments.v1`. Each event is applied once (inbox, same transaction);
 * an outcome already applied under another event id changes nothing; an outcome the lifecycle
 * refuses (a capture for a cancelled order, an unknown order) is dead-lettered with the reason,
 * never applied, so operations can act on it.
 */
export function startPaymentsConsumer(options: {
  readonly kafka: Kafka;
  readonly pool: Pool;
  readonly deps: OrderDeps;
  readonly groupId?: string;
}): Promise<IdempotentConsumer> {
  return startIdempotentConsumer({
    kafka: options.kafka,
    pool: options.pool,
    groupId: options.groupId ?? ORDER_PAYMENTS_GROUP,
    topic: paymentsTopic,
    handle: async (event, tx) => {
      const found = paymentOutcomeOf(event.message);
      if (found === undefined) return;
      if (!isOrderId(found.orderId)) {
        throw new NonRetryableError(`order_id ${JSON.stringify(found.orderId)} is not an order id`);
      }
      const result = await recordPaymentOutcome(options.deps, tx, found.orderId, found.outcome);
      if (!result.ok) {
        throw new NonRetryableError(`${result.error.code}: ${result.error.message}`);
      }
    },
  });
}
