import { trace } from "@opentelemetry/api";
import { orderIdAttribute } from "./local-traces/trace-span.js";

/**
 * Stamps `tributary.order_id` on the active span (a gRPC handler's server span, a consumer's
 * `process` span, a provider call). `tributary trace <order id>` finds an order's trace by this
 * attribute (or by a Kafka key equal to the order id), so every service calls it where it first
 * knows which order it is working on. A no-op outside a span.
 */
export function setOrderIdOnActiveSpan(orderId: string): void {
  trace.getActiveSpan()?.setAttribute(orderIdAttribute, orderId);
}
