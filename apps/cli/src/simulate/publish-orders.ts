import { toBinary } from "@bufbuild/protobuf";
import type { Kafka } from "kafkajs";
import { ordersInboundTopic } from "@tributary/contracts";
import { OrderPlacedSchema, type OrderPlaced } from "@tributary/contracts/order/v1/order_events";
import { createIdempotentProducer, envelopeHeaders, newEventId, protobufContentType } from "@tributary/events";

/** The producer name the simulated upstream system puts in every envelope. */
export const SIMULATED_UPSTREAM = "simulated-upstream";

/**
 * Publishes orders to `orders.inbound.v1` as an upstream order system does: key
 * `merchant_id/merchant_order_ref`, the envelope headers, the idempotent producer with acks from
 * every in-sync replica, in batches; `onProgress` after each acknowledged batch.
 */
export async function publishOrders(
  kafka: Kafka,
  orders: readonly OrderPlaced[],
  onProgress: (published: number) => void = () => {},
  batchSize = 500,
): Promise<void> {
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  try {
    for (let start = 0; start < orders.length; start += batchSize) {
      const batch = orders.slice(start, start + batchSize);
      await producer.send({
        topic: ordersInboundTopic.name,
        acks: -1,
        messages: batch.map((order) => ({
          key: `${order.merchantId}/${order.merchantOrderRef}`,
          value: Buffer.from(toBinary(OrderPlacedSchema, order)),
          headers: envelopeHeaders({
            eventId: newEventId(),
            eventType: OrderPlacedSchema.typeName,
            schemaVersion: "1",
            producer: SIMULATED_UPSTREAM,
            occurredAt: new Date(),
            contentType: protobufContentType,
          }),
        })),
      });
      onProgress(start + batch.length);
    }
  } finally {
    await producer.disconnect();
  }
}
