import {
  type Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptor,
  ServerListenerBuilder,
  status,
} from "@grpc/grpc-js";
import type { Principal } from "./principal.js";
import { parseBearer, type TokenVerifier } from "./token-table.js";

/** Marks a method as callable without a token (the health service, for instance). */
export const PUBLIC = "public";

/**
 * What a method requires of its caller: every listed scope, or nothing at all when it is
 * explicitly {@link PUBLIC}. The scope list is a non-empty tuple, so "authenticated but no
 * scope" cannot be written by accident.
 */
export type MethodAccess = readonly [string, ...string[]] | typeof PUBLIC;

/**
 * Where the interceptor leaves the principal it authenticated, keyed by the request's
 * metadata object (grpc-js hands the handler the same object). A WeakMap, so nothing a
 * client sends can forge an entry. Internal to the package.
 */
export type PrincipalStore = WeakMap<Metadata, Principal>;

/**
 * A grpc-js server interceptor that authenticates `authorization: Bearer <token>` and
 * authorizes by scope before any handler runs. It fails closed: a path with no entry in
 * `policy` is refused, a missing or unknown token is UNAUTHENTICATED, and a known token
 * without every required scope is PERMISSION_DENIED.
 */
export function createAuthInterceptor(
  policy: ReadonlyMap<string, MethodAccess>,
  verify: TokenVerifier,
  principals: PrincipalStore,
): ServerInterceptor {
  return (methodDescriptor, call) => {
    const refuse = (code: status, details: string): void => {
      call.sendStatus({ code, details });
    };
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const access = policy.get(methodDescriptor.path);
        if (access === undefined) {
          refuse(status.PERMISSION_DENIED, `no access declared for ${methodDescriptor.path}`);
          return;
        }
        const header = metadata.get("authorization")[0];
        const token = parseBearer(typeof header === "string" ? header : undefined);
        const principal = token === undefined ? undefined : verify(token);
        if (access === PUBLIC) {
          if (principal !== undefined) {
            principals.set(metadata, principal);
          }
          next(metadata);
          return;
        }
        if (principal === undefined) {
          refuse(status.UNAUTHENTICATED, token === undefined ? "missing bearer token" : "unknown bearer token");
          return;
        }
        const missing = access.filter((scope) => !principal.scopes.includes(scope));
        if (missing.length > 0) {
          refuse(status.PERMISSION_DENIED, `missing scope: ${missing.join(", ")}`);
          return;
        }
        principals.set(metadata, principal);
        next(metadata);
      })
      .build();
    const responder = new ResponderBuilder().withStart((next) => next(listener)).build();
    return new ServerInterceptingCall(call, responder);
  };
}
