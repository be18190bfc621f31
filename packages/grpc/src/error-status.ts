import type { Metadata, status } from "@grpc/grpc-js";
import { isInfrastructureError } from "@tributary/infrastructure-error";
import { Code } from "./code.js";
import { type DomainError, type DomainErrorMapping, DomainFailure } from "./domain-error-mapping.js";
import type { RpcLogger } from "./logger.js";
import { statusDetailsTrailer } from "./status-details.js";

/** A failed call's status as grpc-js sends it (`ServerErrorResponse`). */
export interface FailureStatus {
  readonly code: status;
  readonly details: string;
  readonly metadata: Metadata;
}

const GENERIC_INTERNAL = "internal error";
const GENERIC_UNAVAILABLE = "service unavailable, retry later";

/**
 * Turns a domain error into its status through the service's mapping: code from the
 * mapping, the domain code as `ErrorInfo.reason`, field violations as `BadRequest`.
 * A code missing from the mapping (possible only from untyped code) is a bug: INTERNAL.
 */
export function domainErrorStatus<E extends DomainError>(
  error: E,
  mapping: DomainErrorMapping<E>,
  logger: RpcLogger,
  method: string,
): FailureStatus {
  const code: Code | undefined = (mapping as Readonly<Record<string, Code>>)[error.code];
  if (code === undefined) {
    logger.error("domain error code has no gRPC mapping", { method, domainCode: error.code });
    return internalStatus();
  }
  const message = error.message ?? error.code;
  const details = {
    reason: error.code,
    ...(error.fieldViolations === undefined ? {} : { fieldViolations: error.fieldViolations }),
  };
  return { code: wireStatus(code), details: message, metadata: statusDetailsTrailer(code, message, details) };
}

/**
 * Turns anything a handler threw into a status: a {@link DomainFailure} through the
 * mapping; an infrastructure outage (Postgres or Kafka unreachable, a dropped connection, a
 * pool timeout — see `isInfrastructureError`) UNAVAILABLE, which callers retry with backoff;
 * everything else INTERNAL. Both with a generic message — the error itself (stack included)
 * goes to the log, never to the caller.
 */
export function thrownStatus<E extends DomainError>(
  thrown: unknown,
  mapping: DomainErrorMapping<E>,
  logger: RpcLogger,
  method: string,
): FailureStatus {
  if (thrown instanceof DomainFailure) {
    return domainErrorStatus(thrown.error as E, mapping, logger, method);
  }
  if (isInfrastructureError(thrown)) {
    logger.error("handler failed: a dependency is unavailable", { method, error: thrown });
    return genericStatus(Code.Unavailable, GENERIC_UNAVAILABLE);
  }
  logger.error("handler failed", { method, error: thrown });
  return internalStatus();
}

function internalStatus(): FailureStatus {
  return genericStatus(Code.Internal, GENERIC_INTERNAL);
}

function genericStatus(code: Code, message: string): FailureStatus {
  return { code: wireStatus(code), details: message, metadata: statusDetailsTrailer(code, message, {}) };
}

/** `Code` and grpc-js's `status` share their numbers; this is the one cast between them. */
function wireStatus(code: Code): status {
  return code as number;
}
