import { Code, type DomainErrorMapping, type FieldViolation } from "@tributary/grpc";
import type { PolicyChangeError } from "../../domain/routing/decide-policy-change.js";

/** A request field is missing or malformed; nothing was read or changed. */
export interface InvalidRequestError {
  readonly code: "invalid_request";
  readonly message: string;
  readonly fieldViolations: readonly FieldViolation[];
}

/**
 * No such payment — or one of a merchant the caller may not act for, which must be
 * indistinguishable from it (same code, same message).
 */
export interface PaymentNotFoundError {
  readonly code: "payment_not_found";
  readonly message: string;
  readonly paymentId: string;
}

/** The request names a merchant the caller's token is not bound to (ListPayments, previews). */
export interface MerchantAccessDeniedError {
  readonly code: "merchant_access_denied";
  readonly message: string;
  readonly merchantId: string;
}

/** The routing policy spans every merchant: a token bound to only some may not read or change it. */
export interface PolicyAccessDeniedError {
  readonly code: "policy_access_denied";
  readonly message: string;
}

/** Every error code PaymentRoutingService answers with. */
export type PaymentRoutingServiceError =
  | PolicyChangeError
  | InvalidRequestError
  | PaymentNotFoundError
  | MerchantAccessDeniedError
  | PolicyAccessDeniedError;

/**
 * The one place a payment-routing error code becomes a gRPC status; a mapped type over the union,
 * so a new code does not compile until it is mapped. A version conflict is ABORTED (retry the
 * read-modify-write from GetRoutingPolicy), as gRPC's status guide says for concurrency conflicts.
 */
export const paymentRoutingErrorCodes: DomainErrorMapping<PaymentRoutingServiceError> = {
  invalid_policy: Code.InvalidArgument,
  invalid_request: Code.InvalidArgument,
  policy_version_conflict: Code.Aborted,
  rollout_not_found: Code.NotFound,
  payment_not_found: Code.NotFound,
  merchant_access_denied: Code.PermissionDenied,
  policy_access_denied: Code.PermissionDenied,
};
