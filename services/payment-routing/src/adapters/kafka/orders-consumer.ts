import { channelIdFromProto, ordersTopic, providerIdFromProto, type ProviderId, type TopicMessage } from "@tributary/contracts";
import { Channel as ProtoChannel, Provider as ProtoProvider } from "@tributary/contracts/common/v1/provider";
import type { Money as ProtoMoney } from "@tributary/contracts/common/v1/money";
import { NonRetryableError, requireFields, startIdempotentConsumer, type ConsumedEvent, type IdempotentConsumer } from "@tributary/events";
import { INT64_MAX, money, parseCurrencyCode, type Money } from "@tributary/money";
import { assertNever } from "@tributary/result";
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from "@opentelemetry/api";
import { orderIdAttribute, setOrderIdOnActiveSpan } from "@tributary/telemetry";
import type { Kafka } from "kafkajs";
import type { Pool } from "pg";
import type { LifecycleOutcome } from "../../app/apply-payment-report.js";
import type { LifecycleDeps } from "../../app/ports.js";
import { requestRefund, type RefundCommand } from "../../app/request-refund.js";
import { routeAcceptedOrders, type AcceptedOrder, type AcceptedOrderInTrace } from "../../app/route-accepted-order.js";
import type { BuyerAccounts, Channel } from "../../domain/routing/routing-order.js";

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
    buyerAccounts: buyerAccountsOf(buyer.providerAccounts),
  };
}

/**
 * The buyer's accounts by provider. The order service lets through at most one known provider
 * each; an account naming no provider we know, or a second one for a provider, is a broken
 * event, not something to guess about.
 */
function buyerAccountsOf(accounts: readonly { readonly provider: ProtoProvider; readonly accountId: string }[]): BuyerAccounts {
  const byProvider: Partial<Record<ProviderId, string>> = {};
  accounts.forEach((account, i) => {
    const provider = providerIdFromProto(account.provider);
    if (provider === undefined) throw new NonRetryableError(`order.buyer.provider_accounts[${i}].provider ${String(account.provider)} is unknown`);
    if (account.accountId === "") throw new NonRetryableError(`order.buyer.provider_accounts[${i}].account_id is missing`);
    if (byProvider[provider] !== undefined) throw new NonRetryableError(`order.buyer.provider_accounts[${i}]: a second account for ${provider}`);
    byProvider[provider] = account.accountId;
  });
  return byProvider;
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
 *
 * Events come as the consumer's runs of new events (`handleBatch`, one transaction with their
 * inbox rows): a run of OrderAccepted is routed together (one INSERT of first attempts, one outbox
 * append) and refund requests are applied one at a time in between, in offset order. A run that
 * fails is retried by the consumer one event at a time. One trace per order: a run of one event
 * works in the consumer's `process` span (a child of the producer's span); in a longer run, whose
 * `process` span only links to the producers, each event gets a `process orders.v1` span of its
 * own under its producer's span, linked to the run's span, and its attempt and events continue it.
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
  const tracer = trace.getTracer("@tributary/payment-routing");
  return startIdempotentConsumer({
    kafka: options.kafka,
    pool: options.pool,
    groupId: options.groupId ?? PAYMENT_ROUTING_ORDERS_GROUP,
    topic: ordersTopic,
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    handleBatch: async (events, tx) => {
      const run = trace.getActiveSpan()?.spanContext();
      const spans: Span[] = [];
      /** The trace an event's work continues: undefined (the active `process` span) for a run of one. */
      const traceOf = (event: OrdersEvent): Context | undefined => {
        if (events.length === 1) {
          // The key of every orders.v1 event is its order id (CaptureRefundRequested: the one it names).
          setOrderIdOnActiveSpan(event.key);
          return undefined;
        }
        const span = tracer.startSpan(
          `process ${ordersTopic.name}`,
          {
            kind: SpanKind.CONSUMER,
            links: run === undefined ? [] : [{ context: run }],
            attributes: {
              "messaging.system": "kafka",
              "messaging.destination.name": ordersTopic.name,
              "messaging.operation.type": "process",
              "messaging.operation.name": "process",
              "messaging.message.id": event.eventId,
              "messaging.kafka.message.key": event.key,
              [orderIdAttribute]: event.key,
            },
          },
          propagation.extract(ROOT_CONTEXT, event.headers),
        );
        spans.push(span);
        return trace.setSpan(ROOT_CONTEXT, span);
      };
      let queued = false;
      let accepted: AcceptedOrderInTrace[] = [];
      const routeAccepted = async (): Promise<void> => {
        if (accepted.length === 0) return;
        const outcomes = await routeAcceptedOrders(deps, tx, accepted);
        accepted = [];
        if (outcomes.some((outcome) => outcome.code === "routed")) queued = true;
      };
      try {
        for (const event of events) {
          const message = event.message;
          if (message.$typeName === "tributary.order.v1.OrderAccepted") {
            accepted.push({ order: acceptedOrderOf(message), traceContext: traceOf(event) });
            continue;
          }
          const command = refundCommandOf(message);
          if (command === undefined) continue;
          // In offset order: the accepted orders before it are stored first.
          await routeAccepted();
          const traceContext = traceOf(event);
          const outcome: LifecycleOutcome =
            traceContext === undefined ? await requestRefund(deps, tx, command) : await context.with(traceContext, () => requestRefund(deps, tx, command));
          if (outcome.code !== "retry_later" && outcome.followUp === true) queued = true;
        }
        await routeAccepted();
      } catch (error) {
        for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        throw error;
      } finally {
        for (const span of spans) span.end();
      }
      if (queued) options.afterHandled?.();
    },
  });
}

type OrdersEvent = ConsumedEvent<typeof ordersTopic>;
