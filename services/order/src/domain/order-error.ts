import type { OrderStatus } from "./order.js";

/** One bad field of a request or event: its path (proto field names) and why it is bad. */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

/** The content of a create or an `OrderPlaced` broke one or more rules; nothing was stored. */
export interface InvalidOrderError {
  readonly code: "invalid_order";
  readonly message: string;
  readonly fieldViolations: readonly FieldViolation[];
}

/** A read, cancel or refund request is malformed (missing id, bad page token, bad amount). */
export interface InvalidRequestError {
  readonly code: "invalid_request";
  readonly message: string;
  readonly fieldViolations: readonly FieldViolation[];
}

/** The merchant already has an order with this reference, with different content. */
export interface OrderConflictError {
  readonly code: "order_conflict";
  readonly message: string;
  readonly orderId: string;
  /** One entry per differing field, so the caller sees exactly what changed. */
  readonly fieldViolations: readonly FieldViolation[];
}

/** No order with this id. */
export interface OrderNotFoundError {
  readonly code: "order_not_found";
  readonly message: string;
  readonly orderId: string;
}

/** `place_order` on a state that already holds an order (the app checks idempotency first). */
export interface OrderAlreadyExistsError {
  readonly code: "order_already_exists";
  readonly message: string;
  readonly orderId: string;
}

/**
 * The command is not allowed in the order's current status; the message says why. `from` is
 * `none` for an outcome about a capture that named no order (its capture refund's reply).
 */
export interface IllegalTransitionError {
  readonly code: "illegal_transition";
  readonly message: string;
  readonly from: OrderStatus | "none";
  readonly command: string;
}

/** A refund larger than what was paid minus what is already refunded or being refunded. */
export interface RefundExceedsRemainingError {
  readonly code: "refund_exceeds_remaining";
  readonly message: string;
  readonly fieldViolations: readonly FieldViolation[];
}

/** The refund reference was already used on this order for a different amount. */
export interface RefundRefConflictError {
  readonly code: "refund_ref_conflict";
  readonly message: string;
  readonly fieldViolations: readonly FieldViolation[];
}

/**
 * Every operating error of the order service, keyed by `code`. The gRPC adapter maps each code
 * to a status in one exhaustive table; the Kafka adapters turn them into `OrderRejected` or a
 * dead letter with the message.
 */
export type OrderError =
  | InvalidOrderError
  | InvalidRequestError
  | OrderConflictError
  | OrderNotFoundError
  | OrderAlreadyExistsError
  | IllegalTransitionError
  | RefundExceedsRemainingError
  | RefundRefConflictError;
