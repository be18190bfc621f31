/**
 * @tributary/order — the order service: gRPC OrderService, the `orders.inbound.v1` intake and the
 * order lifecycle driven by `payments.v1`. Start it with {@link startOrderService}; the domain
 * functions are exported for tests and tools that reason about orders.
 */
export { startOrderService } from "./order-service.js";
export type { OrderServiceConfig, RunningOrderService } from "./order-service.js";
export { ORDERS_READ, ORDERS_WRITE, orderServiceAccess } from "./adapters/grpc/order-service-access.js";
export { orderErrorCodes, type OrderServiceError } from "./adapters/grpc/order-error-codes.js";
export { ORDER_INTAKE_GROUP } from "./adapters/kafka/order-intake-consumer.js";
export { ORDER_PAYMENTS_GROUP } from "./adapters/kafka/payments-consumer.js";
export { ORDER_PRODUCER } from "./adapters/kafka/order-outbox.js";
export { decide } from "./domain/decide.js";
export type { DecideError } from "./domain/decide.js";
export { evolve, evolveAll } from "./domain/evolve.js";
export { validatePlaceOrder } from "./domain/validate-place-order.js";
export { CHANNELS, ORDER_STATUSES, PAYMENT_PROVIDERS, noOrder } from "./domain/order.js";
export type { Channel, Order, OrderDraft, OrderLine, OrderState, OrderStatus, PaymentProvider } from "./domain/order.js";
export type { OrderCommand } from "./domain/order-command.js";
export type { OrderEvent } from "./domain/order-event.js";
export type { FieldViolation, OrderError } from "./domain/order-error.js";
