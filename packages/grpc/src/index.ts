/**
 * @tributary/grpc — serve and call protobuf-es (v2) service descriptors over grpc-js,
 * with bearer-token scopes and tenant grants, deadlines, health, and one domain-error → status mapping.
 * Everything public is listed here; other modules are internal.
 */
export { Code } from "./code.js";
export { RpcError, type FieldViolation, type RpcErrorDetails } from "./rpc-error.js";
export { type DomainError, type DomainErrorMapping, DomainFailure } from "./domain-error-mapping.js";
export { PUBLIC, type MethodAccess } from "./auth-interceptor.js";
export {
  grantCovers,
  grantOf,
  mayActFor,
  TENANT_DIMENSIONS,
  type Grants,
  type Principal,
  type TenantDimension,
  type TenantGrant,
} from "./principal.js";
export type { TokenTable } from "./token-table.js";
export { parseTokenTable, type MalformedTokenTableError } from "./parse-token-table.js";
export type { CallContext } from "./call-context.js";
export type { RpcLogger } from "./logger.js";
export type {
  ServerStreamingHandler,
  ServiceImplementation,
  ServiceOptions,
  UnaryHandler,
} from "./service-implementation.js";
export {
  createServer,
  type HealthReporter,
  type RpcServer,
  type RpcServerOptions,
  type ServingStatus,
} from "./server.js";
export { closeClient, createClient, type CallSettings, type ClientOptions, type RpcClient } from "./client.js";
export { createServiceDefinition } from "./service-definition.js";
export { EncodedMessage, encodedMessage } from "./encoded-message.js";
