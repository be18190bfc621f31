import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Kafka } from "kafkajs";
import { ordersInboundTopic, ordersTopic } from "@tributary/contracts";
import { Channel, Provider } from "@tributary/contracts/common/v1/provider";
import {
  OrderAcceptedSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
  type OrderPlaced,
} from "@tributary/contracts/order/v1/order_events";
import { OrderService } from "@tributary/contracts/order/v1/order_service";
import { closeClient, createClient } from "@tributary/grpc";

/** Places orders the two ways upstream systems do and waits for the order service's answers. */
export async function runSmokeFlow(kafka: Kafka, orderAddress: string, token: string): Promise<string[]> {
  const merchantId = `stack-merchant-${Date.now()}`;
  // The same fields make an OrderPlaced event and a CreateOrderRequest.
  const orderFields = (ref: string, totalMinor: bigint) => ({
    merchantId,
    merchantOrderRef: ref,
    buyer: { buyerId: "buyer-1", country: "CN" },
    lines: [{ sku: "tea-001", category: "grocery", quantity: 2n, unitPrice: { currency: "CNY", amountMinor: 129_902n } }],
    total: { currency: "CNY", amountMinor: totalMinor },
    channel: Channel.APP,
    preferredProvider: Provider.WECHAT_PAY,
  });
  const placed = (ref: string, totalMinor: bigint): OrderPlaced => create(OrderPlacedSchema, orderFields(ref, totalMinor));

  const answers = new Map<string, string>();
  const expected = ["via-kafka", "via-kafka-bad-total", "via-grpc"];
  const consumer = kafka.consumer({ groupId: `stack-smoke-${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  await consumer.subscribe({ topic: ordersTopic.name, fromBeginning: false });
  const joined = new Promise<void>((resolveJoin) => consumer.on(consumer.events.GROUP_JOIN, () => resolveJoin()));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const type = String(message.headers?.["event-type"] ?? "");
      const value = message.value ?? Buffer.alloc(0);
      if (type === OrderAcceptedSchema.typeName) {
        const accepted = fromBinary(OrderAcceptedSchema, value);
        if (accepted.order?.merchantId === merchantId) answers.set(accepted.order.merchantOrderRef, `accepted as ${accepted.order.orderId}`);
      } else if (type === OrderRejectedSchema.typeName) {
        const rejected = fromBinary(OrderRejectedSchema, value);
        if (rejected.merchantId === merchantId) {
          answers.set(rejected.merchantOrderRef, `rejected: ${rejected.reasons.map((r) => `${r.field} ${r.description}`).join("; ")}`);
        }
      }
    },
  });
  await joined;

  try {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const viaKafka = [placed("via-kafka", 259_804n), placed("via-kafka-bad-total", 1n)];
      await producer.send({
        topic: ordersInboundTopic.name,
        acks: -1,
        messages: viaKafka.map((message) => ({
          key: `${merchantId}/${message.merchantOrderRef}`,
          value: Buffer.from(toBinary(OrderPlacedSchema, message)),
          headers: {
            "event-id": randomUUID(),
            "event-type": OrderPlacedSchema.typeName,
            "schema-version": "1",
            producer: "stack-upstream",
            "occurred-at": new Date().toISOString(),
            "content-type": "application/x-protobuf",
          },
        })),
      });
    } finally {
      await producer.disconnect();
    }

    const client = createClient(OrderService, orderAddress, { bearerToken: token, defaultDeadlineMs: 10_000 });
    try {
      const created = await client.createOrder(orderFields("via-grpc", 259_804n));
      if (!created.created) throw new Error("CreateOrder did not create the order");
    } catch (error) {
      throw new Error(`CreateOrder over gRPC failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    } finally {
      closeClient(client);
    }

    const deadline = Date.now() + 30_000;
    while (expected.some((ref) => !answers.has(ref)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await consumer.disconnect();
  }
  const missing = expected.filter((ref) => !answers.has(ref));
  if (missing.length > 0) throw new Error(`no answer on orders.v1 within 30 s for: ${missing.join(", ")}`);
  if (!answers.get("via-kafka-bad-total")?.startsWith("rejected")) throw new Error("the bad order was not rejected");
  return expected.map((ref) => `${ref}: ${answers.get(ref)}`);
}
