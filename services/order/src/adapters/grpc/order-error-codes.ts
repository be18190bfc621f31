import { Code, type DomainErrorMapping } from "@tributary/grpc";
import type { MerchantAccessDeniedError } from "../../app/merchant-access.js";
import type { OrderError } from "../../domain/order-error.js";

/**
 * Every error code OrderService answers with: the domain's, and the app's refusal of a merchant
 * the caller's credential is not bound to (authorization is not a domain rule).
 */
export type OrderServiceError = OrderError | MerchantAccessDeniedError;

/**
 * The one place an order error code becomes a gRPC status. A mapped type over the union, so a
 * new code fails to compile until it is mapped here; there is no catch-all.
 */
export const orderErrorCodes: DomainErrorMapping<OrderServiceError> = {
  invalid_order: Code.InvalidArgument,
  invalid_request: Code.InvalidArgument,
  order_conflict: Code.AlreadyExists,
  order_not_found: Code.NotFound,
  order_already_exists: Code.AlreadyExists,
  illegal_transition: Code.FailedPrecondition,
  refund_exceeds_remaining: Code.FailedPrecondition,
  refund_ref_conflict: Code.AlreadyExists,
  merchant_access_denied: Code.PermissionDenied,
};
