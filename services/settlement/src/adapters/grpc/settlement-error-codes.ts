import { Code, type DomainErrorMapping, type FieldViolation } from "@tributary/grpc";

/** Every error the API answers with. */
export type SettlementQueryError =
  | { readonly code: "invalid_request"; readonly message: string; readonly fieldViolations: readonly FieldViolation[] }
  | { readonly code: "batch_not_found"; readonly message: string }
  | { readonly code: "provider_access_denied"; readonly message: string }
  | { readonly code: "merchant_access_denied"; readonly message: string }
  | { readonly code: "day_not_over"; readonly message: string };

/** The one place a settlement error code becomes a gRPC status. */
export const settlementErrorCodes: DomainErrorMapping<SettlementQueryError> = {
  invalid_request: Code.InvalidArgument,
  batch_not_found: Code.NotFound,
  provider_access_denied: Code.PermissionDenied,
  merchant_access_denied: Code.PermissionDenied,
  day_not_over: Code.FailedPrecondition,
};
