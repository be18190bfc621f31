import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import type { Consumer, Kafka } from "kafkajs";
import { ordersTopic } from "@tributary/contracts";
import { OrderAcceptedSchema, OrderRejectedSchema } from "@tributary/contracts/order/v1/order_events";

/** How the order service answered a run's orders so far. */
export interface OrderAnswers {
  readonly accepted: ReadonlyMap<string, string>;
  readonly rejected: ReadonlyMap<string, string>;
}

/** A watcher of `orders.v1` for one run's answers; join it before publishing. */
export interface OrderAnswerWatch {
  readonly answers: OrderAnswers;
  /** Resolves once `count` orders of the run were answered, or rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs: number, onProgress?: (answered: number) => void): Promise<OrderAnswers>;
  stop(): Promise<void>;
}

/**
 * Watches `orders.v1` (from the end, in a group of its own) for the order service's answers to
 * the orders whose merchant order reference starts with `runId`: `OrderAccepted` (with the order
 * id) or `OrderRejected` (with the reasons). Resolves once the consumer has joined, so nothing
 * published afterwards is missed.
 */
export async function watchOrderAnswers(kafka: Kafka, runId: string): Promise<OrderAnswerWatch> {
  const accepted = new Map<string, string>();
  const rejected = new Map<string, string>();
  const consumer: Consumer = kafka.consumer({ groupId: `tributary-cli-watch-${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  await consumer.subscribe({ topic: ordersTopic.name, fromBeginning: false });
  const joined = new Promise<void>((resolveJoin) => consumer.on(consumer.events.GROUP_JOIN, () => resolveJoin()));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const type = String(message.headers?.["event-type"] ?? "");
      const value = message.value ?? Buffer.alloc(0);
      if (type === OrderAcceptedSchema.typeName) {
        const order = fromBinary(OrderAcceptedSchema, value).order;
        if (order?.merchantOrderRef.startsWith(runId) === true) accepted.set(order.merchantOrderRef, order.orderId);
      } else if (type === OrderRejectedSchema.typeName) {
        const refusal = fromBinary(OrderRejectedSchema, value);
        if (refusal.merchantOrderRef.startsWith(runId)) {
          rejected.set(refusal.merchantOrderRef, refusal.reasons.map((reason) => `${reason.field}: ${reason.description}`).join("; "));
        }
      }
    },
  });
  await joined;
  const answers = { accepted, rejected };
  return {
    answers,
    async waitFor(count, timeoutMs, onProgress) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const answered = accepted.size + rejected.size;
        onProgress?.(answered);
        if (answered >= count) return answers;
        if (Date.now() > deadline) throw new Error(`only ${answered} of ${count} orders answered on ${ordersTopic.name} within ${timeoutMs / 1_000} s`);
        await new Promise((resolveLater) => setTimeout(resolveLater, 100));
      }
    },
    stop: () => consumer.disconnect(),
  };
}
