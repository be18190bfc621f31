import type { Code } from "./code.js";
import type { FieldViolation } from "./rpc-error.js";

/**
 * The shape every domain error must have to cross the gRPC edge: a snake_case `code`
 * (the union's discriminant, as in `@tributary/result`), and optionally a message for
 * humans and the request fields it blames. Domain errors never carry a transport code.
 */
export interface DomainError {
  readonly code: string;
  readonly message?: string;
  readonly fieldViolations?: readonly FieldViolation[];
}

/**
 * The one place a service says which gRPC status each of its domain error codes becomes.
 * It is a mapped type over the union's codes, so adding a code to the union without
 * mapping it fails to compile — no catch-all `default`.
 *
 * @example
 * type OrderError = { code: "invalid_amount"; fieldViolations: FieldViolation[] } | { code: "order_not_found" };
 * const orderErrors: DomainErrorMapping<OrderError> = {
 *   invalid_amount: Code.InvalidArgument,
 *   order_not_found: Code.NotFound,
 * };
 */
export type DomainErrorMapping<E extends DomainError> = { readonly [K in E["code"]]: Code };

/**
 * Carries a domain error out of a handler by `throw`, for the places a `Result` cannot
 * be returned (a server-streaming handler, or deep inside a unary one). The adapter maps
 * its `error` exactly like a returned `err(...)`.
 */
export class DomainFailure<E extends DomainError = DomainError> extends Error {
  override readonly name = "DomainFailure";
  readonly error: E;

  constructor(error: E) {
    super(error.message ?? error.code);
    this.error = error;
  }
}
