import { ordersInboundTopic } from "@tributary/contracts";
import { startIdempotentConsumer, type IdempotentConsumer } from "@tributary/events";
import type { Kafka } from "kafkajs";
import type { Pool } from "pg";
import { acceptPlacedOrders } from "../../app/accept-placed-order.js";
import type { OrderDeps } from "../../app/ports.js";
import { toPlaceOrderInput } from "../proto/order-messages.js";

/** Consumer group of the `orders.inbound.v1` intake. */
export const ORDER_INTAKE_GROUP = "order-intake";

/**
 * Consumes `OrderPlaced` from `orders.inbound.v1` through the same use case as `CreateOrder`:
 * a valid order → `OrderAccepted`, an invalid one → `OrderRejected` with the reasons, both via
 * the outbox in the transaction that records the events in the inbox. It takes the consumer's
 * batch path: a run of events shares one transaction (one inbox insert, one order insert and one
 * outbox append for the accepted ones), yet each event is still decided on its own. If the run's transaction fails
 * anyway, the consumer retries its events one at a time, so a poisoned event is dead-lettered
 * alone. Undecodable messages are dead-lettered by the idempotent consumer before they reach
 * this handler.
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
    handleBatch: async (events, tx) => {
      await acceptPlacedOrders(
        options.deps,
        tx,
        events.map((event) => toPlaceOrderInput(event.message)),
      );
    },
  });
}
