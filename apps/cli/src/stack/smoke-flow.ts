import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Kafka } from "kafkajs";
import { ordersInboundTopic, ordersTopic, paymentsTopic, providerIdFromProto, type ProviderId } from "@tributary/contracts";
import { Channel, Provider } from "@tributary/contracts/common/v1/provider";
import {
  OrderAcceptedSchema,
  OrderPaidSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
  type OrderPlaced,
} from "@tributary/contracts/order/v1/order_events";
import { OrderService } from "@tributary/contracts/order/v1/order_service";
import { PaymentCapturedSchema, PaymentRoutedSchema } from "@tributary/contracts/payment/v1/payment_events";
import { createIdempotentProducer, envelopeHeaders, newEventId, protobufContentType } from "@tributary/events";
import { closeClient, createClient } from "@tributary/grpc";
import { formatDecimal, money } from "@tributary/money";

/** What the smoke flow needs from the stack. */
export interface SmokeFlowTargets {
  readonly kafka: Kafka;
  /** The order service's gRPC address and a token with orders:write. */
  readonly orderAddress: string;
  readonly token: string;
  /** A merchant the routing policy knows, so its orders are routed and paid. */
  readonly merchantId: string;
  /** Makes the sandbox's buyer pay a payment now (the wallet's "confirm"); false if it cannot. */
  readonly pay: (provider: ProviderId, paymentId: string) => boolean;
  readonly timeoutMs?: number;
}

interface SmokeOrder {
  answer?: string;
  orderId?: string;
  routed?: string;
  captured?: string;
  paid?: boolean;
  /** Set when the sandbox's buyer paid the payment; unset while the provider has not created it. */
  buyerPaid?: boolean;
}

/**
 * The path end to end, through every service process: an upstream system's `OrderPlaced` on
 * `orders.inbound.v1` and a `CreateOrder` gRPC call each become `OrderAccepted` on `orders.v1`;
 * payment-routing routes each (`PaymentRouted` on `payments.v1`) and creates it at the sandbox;
 * the sandbox's buyer pays; the provider's signed notification reaches the webhook and the
 * payment is captured (`PaymentCaptured`); the order service marks the order paid (`OrderPaid`).
 * An order whose total does not match its lines comes back `OrderRejected` with the reason.
 * Returns one line per order; throws naming what did not arrive in time.
 */
export async function runSmokeFlow(targets: SmokeFlowTargets): Promise<string[]> {
  const run = `smoke-${Date.now()}`;
  const orderFields = (ref: string, totalMinor: bigint) => ({
    merchantId: targets.merchantId,
    merchantOrderRef: `${run}-${ref}`,
    buyer: { buyerId: "buyer-1", country: "CN" },
    lines: [{ sku: "tea-001", category: "food", quantity: 2n, unitPrice: { currency: "CNY", amountMinor: 12_990n } }],
    total: { currency: "CNY", amountMinor: totalMinor },
    channel: Channel.APP,
    preferredProvider: Provider.WECHAT_PAY,
  });
  const placed = (ref: string, totalMinor: bigint): OrderPlaced => create(OrderPlacedSchema, orderFields(ref, totalMinor));
  const paidRefs = ["via-kafka", "via-grpc"];
  const orders = new Map<string, SmokeOrder>([...paidRefs, "via-kafka-bad-total"].map((ref) => [ref, {}]));
  const refOf = (merchantOrderRef: string): string | undefined => (merchantOrderRef.startsWith(`${run}-`) ? merchantOrderRef.slice(run.length + 1) : undefined);
  const byOrderId = (orderId: string): SmokeOrder | undefined => [...orders.values()].find((order) => order.orderId === orderId);
  /** Set when the flow stops waiting: the buyers stop trying to pay then, not before. */
  let over = false;

  const consumer = targets.kafka.consumer({ groupId: `stack-smoke-${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [ordersTopic.name, paymentsTopic.name], fromBeginning: false });
  const joined = new Promise<void>((resolveJoin) => consumer.on(consumer.events.GROUP_JOIN, () => resolveJoin()));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const type = String(message.headers?.["event-type"] ?? "");
      const value = message.value ?? Buffer.alloc(0);
      switch (type) {
        case OrderAcceptedSchema.typeName: {
          const accepted = fromBinary(OrderAcceptedSchema, value).order;
          const ref = accepted === undefined ? undefined : refOf(accepted.merchantOrderRef);
          const order = ref === undefined ? undefined : orders.get(ref);
          if (order !== undefined && accepted !== undefined) {
            order.answer = `accepted as ${accepted.orderId}`;
            order.orderId = accepted.orderId;
          }
          break;
        }
        case OrderRejectedSchema.typeName: {
          const rejected = fromBinary(OrderRejectedSchema, value);
          const order = orders.get(refOf(rejected.merchantOrderRef) ?? "");
          if (order !== undefined) order.answer = `rejected: ${rejected.reasons.map((r) => `${r.field} ${r.description}`).join("; ")}`;
          break;
        }
        case PaymentRoutedSchema.typeName: {
          const routed = fromBinary(PaymentRoutedSchema, value);
          const order = byOrderId(routed.orderId);
          const provider = providerIdFromProto(routed.provider);
          if (order !== undefined && provider !== undefined && order.routed === undefined) {
            order.routed = `${provider} (${routed.routingRule})`;
            // The provider creates the payment after the route commits: pay once it exists, for as
            // long as the flow waits (a loaded machine can take more than a few seconds).
            void payWhenCreated(targets.pay, provider, routed.paymentId, () => over).then((paid) => {
              order.buyerPaid = paid;
            });
          }
          break;
        }
        case PaymentCapturedSchema.typeName: {
          const captured = fromBinary(PaymentCapturedSchema, value);
          const order = byOrderId(captured.orderId);
          if (order !== undefined) order.captured = `captured ${formatDecimal(money(captured.amount?.amountMinor ?? 0n, "CNY"))} CNY, fee ${formatDecimal(money(captured.fee?.amountMinor ?? 0n, "CNY"))}`;
          break;
        }
        case OrderPaidSchema.typeName: {
          const order = byOrderId(fromBinary(OrderPaidSchema, value).orderId);
          if (order !== undefined) order.paid = true;
          break;
        }
        default:
          break;
      }
    },
  });
  await joined;

  try {
    const producer = createIdempotentProducer(targets.kafka);
    await producer.connect();
    try {
      await producer.send({
        topic: ordersInboundTopic.name,
        acks: -1,
        messages: [placed("via-kafka", 25_980n), placed("via-kafka-bad-total", 1n)].map((message) => ({
          key: `${message.merchantId}/${message.merchantOrderRef}`,
          value: Buffer.from(toBinary(OrderPlacedSchema, message)),
          headers: envelopeHeaders({
            eventId: newEventId(),
            eventType: OrderPlacedSchema.typeName,
            schemaVersion: "1",
            producer: "stack-upstream",
            occurredAt: new Date(),
            contentType: protobufContentType,
          }),
        })),
      });
    } finally {
      await producer.disconnect();
    }

    const client = createClient(OrderService, targets.orderAddress, { bearerToken: targets.token, defaultDeadlineMs: 10_000 });
    try {
      const created = await client.createOrder(orderFields("via-grpc", 25_980n));
      if (!created.created) throw new Error("CreateOrder did not create the order");
    } catch (error) {
      throw new Error(`CreateOrder over gRPC failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    } finally {
      closeClient(client);
    }

    const timeoutMs = targets.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const done = (): boolean => orders.get("via-kafka-bad-total")?.answer !== undefined && paidRefs.every((ref) => orders.get(ref)?.paid === true);
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  } finally {
    over = true;
    await consumer.disconnect();
  }
  const missing = [...orders].flatMap(([ref, order]) => {
    if (order.answer === undefined) return [`${ref}: no OrderAccepted/OrderRejected on orders.v1`];
    if (ref === "via-kafka-bad-total") return order.answer.startsWith("rejected") ? [] : [`${ref}: was not rejected`];
    if (order.routed === undefined) return [`${ref}: no PaymentRouted on payments.v1`];
    if (order.captured === undefined && order.buyerPaid !== true) return [`${ref}: routed to ${order.routed}, but the sandbox never had the payment for the buyer to pay (payment-routing did not create it at the provider)`];
    if (order.captured === undefined) return [`${ref}: the buyer paid, but no PaymentCaptured on payments.v1 (routed to ${order.routed})`];
    if (order.paid !== true) return [`${ref}: no OrderPaid on orders.v1`];
    return [];
  });
  if (missing.length > 0) throw new Error(`the smoke flow did not finish within ${(targets.timeoutMs ?? 60_000) / 1_000} s: ${missing.join("; ")}`);
  return [...orders].map(([ref, order]) =>
    order.routed === undefined ? `${ref}: ${order.answer}` : `${ref}: ${order.answer}; routed to ${order.routed}; ${order.captured}; order paid`,
  );
}

/** Has the sandbox's buyer pay once the payment exists there, every 100 ms until paid or `over()`; whether it paid. */
async function payWhenCreated(pay: SmokeFlowTargets["pay"], provider: ProviderId, paymentId: string, over: () => boolean): Promise<boolean> {
  for (;;) {
    if (pay(provider, paymentId)) return true;
    if (over()) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

