import { ordersInboundTopic } from "@tributary/contracts";
import { startIdempotentConsumer, type IdempotentConsumer } from "@tributary/events";
import type { Kafka } from "kafkajs";
import type { Pool } from "pg";
import { acceptPlacedOrder } from "../../app/accept-placed-order.js";
import type { OrderDeps } from "../../app/ports.js";
import { toPlaceOrderInput } from "../proto/order-messages.js";

/** Consumer group of the `orders.inbound.v1` intake. */
export const ORDER_INTAKE_GROUP = "order-intake";

/**
 * Consumes `OrderPlaced` from `orders.inbound.v1` through the same use case as `CreateOrder`:
 * a valid order → `OrderAccepted`, an invalid one → `OrderRejected` with the reasons, both via
 * the outbox in the transaction that records the event in the inbox. Undecodable messages are
 * dead-lettered by the idempotent consumer before they reach this handler.
 */
export function startOrderIntakeConsumer(options: {
  readonly kafka: Kafka;
  readonly pool: Pool;
  readonly deps: OrderDeps;
  readonly groupId?: string;
}): Promise<IdempotentConsumer> {
  return startIdempotentConsumer({
    kafka: options.kafka,
    pool: options.pool,
    groupId: options.groupId ?? ORDER_INTAKE_GROUP,
    topic: ordersInboundTopic,
    handle: async (event, tx) => {
      await acceptPlacedOrder(options.deps, tx, toPlaceOrderInput(event.message));
    },
  });
}
