import { channelIdFromProto, ordersTopic, providerIdFromProto, type TopicMessage } from "@tributary/contracts";
import { Channel as ProtoChannel, Provider as ProtoProvider } from "@tributary/contracts/common/v1/provider";
import type { Money as ProtoMoney } from "@tributary/contracts/common/v1/money";
import { NonRetryableError, requireFields, startIdempotentConsumer, type IdempotentConsumer } from "@tributary/events";
import { INT64_MAX, money, parseCurrencyCode, type Money } from "@tributary/money";
import { assertNever } from "@tributary/result";
import { setOrderIdOnActiveSpan } from "@tributary/telemetry";
import type { Kafka } from "kafkajs";
import type { Pool } from "pg";
import type { LifecycleOutcome } from "../../app/apply-payment-report.js";
import type { LifecycleDeps } from "../../app/ports.js";
import { requestRefund, type RefundCommand } from "../../app/request-refund.js";
import { routeAcceptedOrder, type AcceptedOrder } from "../../app/route-accepted-order.js";
import type { Channel } from "../../domain/routing/routing-order.js";

/** Consumer group of payment-routing on `orders.v1`. */
export const PAYMENT_ROUTING_ORDERS_GROUP = "payment-routing-orders";

function required<M extends { readonly $typeName: string }>(message: M, fields: readonly (keyof M & string)[]): void {
  const missing = requireFields(message, fields);
  if (missing !== undefined) throw missing;
}

function amountOf(field: string, amount: ProtoMoney | undefined): Money {
  if (amount === undefined) throw new NonRetryableError(`${field} is missing`);
  const currency = parseCurrencyCode(amount.currency);
  if (!currency.ok) throw new NonRetryableError(`${field}.currency ${JSON.stringify(amount.currency)} is unknown`);
  if (amount.amountMinor <= 0n || amount.amountMinor > INT64_MAX) throw new NonRetryableError(`${field}.amount_minor must be positive`);
  return money(amount.amountMinor, currency.value);
}

function channelOf(channel: ProtoChannel): Channel {
  if (channel === ProtoChannel.UNSPECIFIED) throw new NonRetryableError("order.channel is missing");
  const id = channelIdFromProto(channel);
  if (id === undefined) throw new NonRetryableError(`order.channel ${String(channel)} is unknown`);
  return id;
}

/** The routing projection of `OrderAccepted`; a message missing what routing needs is a dead letter. */
export function acceptedOrderOf(message: TopicMessage<typeof ordersTopic> & { $typeName: "tributary.order.v1.OrderAccepted" }): AcceptedOrder {
  const order = message.order;
  if (order === undefined) throw new NonRetryableError("missing_required_fields: order empty in tributary.order.v1.OrderAccepted");
  required(order, ["orderId", "merchantId", "buyer", "total", "channel"]);
  const buyer = order.buyer;
  if (buyer === undefined || buyer.buyerId === "") throw new NonRetryableError("order.buyer.buyer_id is missing");
  const preferred = order.preferredProvider === ProtoProvider.UNSPECIFIED ? undefined : providerIdFromProto(order.preferredProvider);
  return {
    orderId: order.orderId,
    merchantId: order.merchantId,
    buyerId: buyer.buyerId,
    amount: amountOf("order.total", order.total),
    lineCategories: order.lines.map((line) => line.category),
    channel: channelOf(order.channel),
    country: buyer.country === "" ? undefined : buyer.country,
    preferredProvider: preferred,
  };
}

/** The refund a refund request on `orders.v1` asks for, or undefined for events payment-routing does not act on. */
export function refundCommandOf(message: TopicMessage<typeof ordersTopic>): RefundCommand | undefined {
  switch (message.$typeName) {
    case "tributary.order.v1.OrderRefundRequested":
      required(message, ["orderId", "refundRef", "amount"]);
      return { kind: "order_refund", orderId: message.orderId, refundRef: message.refundRef, amount: amountOf("amount", message.amount), reason: message.reason };
    case "tributary.order.v1.CaptureRefundRequested":
      required(message, ["orderId", "paymentId", "refundRef", "amount"]);
      return {
        kind: "capture_refund",
        orderId: message.orderId,
        paymentId: message.paymentId,
        refundRef: message.refundRef,
        amount: amountOf("amount", message.amount),
        reason: message.description === "" ? "capture no order owns" : message.description,
      };
    // Not refunds: OrderAccepted is routed by the handler; the rest is the order service's own news.
    case "tributary.order.v1.OrderAccepted":
    case "tributary.order.v1.OrderRejected":
    case "tributary.order.v1.OrderPaid":
    case "tributary.order.v1.OrderPaymentFailed":
    case "tributary.order.v1.OrderCancelled":
      return undefined;
    default:
      return assertNever(message, "orders.v1 message");
  }
}

/**
 * Consumes `orders.v1`: `OrderAccepted` → route and store the first attempt (+ PaymentRouted);
 * `OrderRefundRequested` / `CaptureRefundRequested` → record the refund (or refuse it with
 * RefundFailed). Each in the transaction of its inbox row, so each event has one effect; the
 * provider calls follow the commit in the payment worker, which `afterHandled` nudges. Other
 * order events are not payment-routing's business. A message missing a required field is
 * dead-lettered with the reason.
 */
export function startOrdersConsumer(options: {
  readonly kafka: Kafka;
  readonly pool: Pool;
  readonly deps: LifecycleDeps;
  readonly groupId?: string;
  /** Called after a handled event queued provider work (the worker's nudge). */
  readonly afterHandled?: () => void;
}): Promise<IdempotentConsumer> {
  const { deps } = options;
  return startIdempotentConsumer({
    kafka: options.kafka,
    pool: options.pool,
    groupId: options.groupId ?? PAYMENT_ROUTING_ORDERS_GROUP,
    topic: ordersTopic,
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    handle: async (event, tx) => {
      const message = event.message;
      // The key of every orders.v1 event is its order id (CaptureRefundRequested: the one it names).
      setOrderIdOnActiveSpan(event.key);
      let queued = false;
      if (message.$typeName === "tributary.order.v1.OrderAccepted") {
        const outcome = await routeAcceptedOrder(deps, tx, acceptedOrderOf(message));
        queued = outcome.code === "routed";
      } else {
        const command = refundCommandOf(message);
        if (command === undefined) return;
        const outcome: LifecycleOutcome = await requestRefund(deps, tx, command);
        queued = outcome.code !== "retry_later" && outcome.followUp === true;
      }
      if (queued) options.afterHandled?.();
    },
  });
}
