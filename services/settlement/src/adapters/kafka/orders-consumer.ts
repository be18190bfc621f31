import { channelIdFromProto, ordersTopic } from "@tributary/contracts";
import type { Channel } from "@tributary/contracts/common/v1/provider";
import { NonRetryableError, startIdempotentConsumer, type ConsumedEvent, type IdempotentConsumer } from "@tributary/events";
import type { Logger } from "@tributary/telemetry";
import type { Kafka } from "kafkajs";
import type { Pool, PoolClient } from "pg";
import type { SettlementDeps } from "../../app/ports.js";
import { reserveRefund } from "../../app/reserve-refund.js";
import { recordOrderContext } from "../db/pg-order-context.js";
import { amountOf, required } from "./payment-messages.js";

/** The channel as fee rules name it (`app`, `web`, `mini_program`); none when unset or unknown. */
function channelName(channel: Channel): string | undefined {
  return channelIdFromProto(channel);
}

/** Consumer group of the settlement service on `orders.v1`. */
export const SETTLEMENT_ORDERS_GROUP = "settlement-orders";

/**
 * Reserves a refund when the order service accepts a refund request (`OrderRefundRequested`): the
 * first phase of the two-phase refund, so the merchant's available balance drops before the
 * provider confirms. A request for an order whose capture the ledger has not seen (the two topics
 * are not ordered against each other) reserves nothing: the completed refund then posts directly.
 * A request past the captured amount is a dead letter. `OrderAccepted` records the order's
 * reference, channel and (single) category, which fee rules and reports use. Every other order
 * event is ignored.
 */
export async function applyOrderEvent(
  deps: SettlementDeps,
  event: ConsumedEvent<typeof ordersTopic>,
  tx: PoolClient,
  logger?: Logger,
): Promise<void> {
  const message = event.message;
  if (message.$typeName === "tributary.order.v1.OrderAccepted") {
    required(message, ["order"]);
    const order = message.order;
    if (order === undefined || order.orderId === "") throw new NonRetryableError("order.order_id is missing");
    const categories = new Set(order.lines.map((line) => line.category));
    await recordOrderContext(tx, {
      orderId: order.orderId,
      merchantOrderRef: order.merchantOrderRef,
      channel: channelName(order.channel),
      // A fee rule by category applies when the whole order is of one category.
      category: categories.size === 1 ? [...categories][0] : undefined,
    });
    return;
  }
  if (message.$typeName !== "tributary.order.v1.OrderRefundRequested") return;
  required(message, ["orderId", "refundRef", "amount"]);
  const amount = amountOf("amount", message.amount);
  const result = await reserveRefund(deps, tx, {
    orderId: message.orderId,
    eventId: event.eventId,
    refundRef: message.refundRef,
    amountMinor: amount.amountMinor,
    currency: amount.currency,
    providerRefundId: undefined,
    at: event.occurredAt,
  });
  if (result.ok) return;
  if (result.error.code === "capture_unknown") {
    logger?.warn({ orderId: message.orderId, refundRef: message.refundRef }, `settlement: refund not reserved: ${result.error.message}`);
    return;
  }
  throw new NonRetryableError(`${result.error.code}: ${result.error.message}`);
}

/** Starts the `orders.v1` consumer of the settlement service. */
export function startOrdersConsumer(options: {
  readonly kafka: Kafka;
  readonly pool: Pool;
  readonly deps: SettlementDeps;
  readonly groupId?: string;
  readonly logger?: Logger;
}): Promise<IdempotentConsumer> {
  return startIdempotentConsumer({
    kafka: options.kafka,
    pool: options.pool,
    groupId: options.groupId ?? SETTLEMENT_ORDERS_GROUP,
    topic: ordersTopic,
    handle: (event, tx) => applyOrderEvent(options.deps, event, tx, options.logger),
  });
}
