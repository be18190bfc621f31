import { paymentsTopic, providerIdFromProto, type TopicMessage } from "@tributary/contracts";
import type { Money as ProtoMoney } from "@tributary/contracts/common/v1/money";
import { Provider as ProtoProvider } from "@tributary/contracts/common/v1/provider";
import { NonRetryableError, requireFields, startIdempotentConsumer, type IdempotentConsumer } from "@tributary/events";
import { INT64_MAX, money, parseCurrencyCode, type Money } from "@tributary/money";
import { assertNever } from "@tributary/result";
import type { Logger } from "@tributary/telemetry";
import type { Kafka } from "kafkajs";
import type { Pool } from "pg";
import type { OrderDeps } from "../../app/ports.js";
import { recordPaymentOutcome, type PaymentOutcome } from "../../app/record-payment-outcome.js";
import type { PaymentProvider } from "../../domain/order.js";
import type { OrderEvent } from "../../domain/order-event.js";
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

/**
 * Refuses an event whose required fields are empty, naming every one of them (an empty string, an
 * UNSPECIFIED enum, an absent message): proto3 cannot tell "unset" from "empty", so without this
 * an empty payment_id would compare equal to another empty one and look like "the same payment".
 */
function required<M extends { readonly $typeName: string }>(message: M, fields: readonly (keyof M & string)[]): void {
  const missing = requireFields(message, fields);
  if (missing !== undefined) throw missing;
}

/** The rail of a capture; {@link required} has already refused UNSPECIFIED. */
function providerOf(provider: ProtoProvider): PaymentProvider {
  if (provider === ProtoProvider.UNSPECIFIED) throw new NonRetryableError("provider is missing");
  const id = providerIdFromProto(provider);
  if (id === undefined) throw new NonRetryableError(`provider ${String(provider)} is unknown`);
  return id;
}

/** A failure as the order keeps it: our reason code, with the provider's words when it gave any. */
function failureReason(reasonCode: string, providerMessage: string): string {
  return providerMessage === "" ? reasonCode : `${reasonCode}: ${providerMessage}`;
}

/**
 * The order a payment event is about and what it says, or `undefined` for events we ignore.
 * Throws {@link NonRetryableError} (→ dead letter with the reason) for an event missing a required
 * field or carrying a bad amount or provider.
 */
export function paymentOutcomeOf(
  message: TopicMessage<typeof paymentsTopic>,
): { orderId: string; outcome: PaymentOutcome } | undefined {
  switch (message.$typeName) {
    case "tributary.payment.v1.PaymentRouted":
      return undefined;
    case "tributary.payment.v1.PaymentCaptured":
      required(message, ["paymentId", "orderId", "merchantId", "provider", "amount"]);
      return {
        orderId: message.orderId,
        outcome: {
          type: "record_payment_captured",
          paymentId: message.paymentId,
          merchantId: message.merchantId,
          provider: providerOf(message.provider),
          // Optional: a rail may confirm a capture before it hands out its own transaction id.
          providerTransactionId: message.providerTransactionId === "" ? undefined : message.providerTransactionId,
          amount: amountOf("amount", message.amount),
        },
      };
    case "tributary.payment.v1.PaymentFailed":
      required(message, ["paymentId", "orderId", "reasonCode"]);
      return {
        orderId: message.orderId,
        outcome: {
          type: "record_payment_failed",
          paymentId: message.paymentId,
          reason: failureReason(message.reasonCode, message.providerMessage),
        },
      };
    case "tributary.payment.v1.PaymentRefunded":
      required(message, ["paymentId", "orderId", "refundRef", "amount"]);
      return {
        orderId: message.orderId,
        outcome: { type: "record_refund_completed", refundRef: message.refundRef, amount: amountOf("amount", message.amount) },
      };
    case "tributary.payment.v1.RefundFailed":
      required(message, ["paymentId", "orderId", "refundRef", "reasonCode"]);
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
 * A failed capture refund means money taken for no order is still not back with the buyer: one
 * warning per failure recorded (a rolled-back attempt that is retried may log it again), for the
 * operators who list `refund_failed` captures and decide what happens next.
 */
function logFailedCaptureRefunds(logger: Logger | undefined, events: readonly OrderEvent[]): void {
  for (const event of events) {
    if (event.type !== "capture_refund_failed") continue;
    logger?.warn(
      { orderId: event.orderId, paymentId: event.paymentId, refundRef: event.refundRef, reason: event.reason },
      `order: the refund of unowned capture ${event.paymentId} failed (${event.reason}); recorded as refund_failed in unowned_captures`,
    );
  }
}

/**
 * Moves orders forward on `payments.v1`. Each event is applied once (inbox, same transaction);
 * an outcome already applied under another event id changes nothing. A capture no order takes (a
 * cancelled, closed or already paid order, or no such order) is recorded and its refund requested
 * with `CaptureRefundRequested`, never dead-lettered: the money was taken; the reply to that
 * refund (`PaymentRefunded` / `RefundFailed` with a `capture-refund:` refund_ref) is recorded on
 * the capture, a failure also logged. An event with an empty required field, or an outcome the
 * lifecycle refuses (a capture of the wrong amount, a refund outcome for no requested refund, a
 * capture refund of another amount than the capture), is dead-lettered with the reason, never
 * applied.
 */
export function startPaymentsConsumer(options: {
  readonly kafka: Kafka;
  readonly pool: Pool;
  readonly deps: OrderDeps;
  readonly groupId?: string;
  /** Where a failed capture refund is reported; nowhere unless told. */
  readonly logger?: Logger;
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
      logFailedCaptureRefunds(options.logger, result.value);
    },
  });
}
