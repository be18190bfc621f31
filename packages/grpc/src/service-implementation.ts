import type { DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { Result } from "@tributary/result";
import type { MethodAccess } from "./auth-interceptor.js";
import type { CallContext } from "./call-context.js";
import type { DomainError, DomainErrorMapping } from "./domain-error-mapping.js";
import type { EncodedMessage } from "./encoded-message.js";

/**
 * A unary handler. Expected failures come back as `err(domainError)` and become a status
 * through the service's {@link DomainErrorMapping}; throwing is for bugs (INTERNAL) or a
 * `DomainFailure` when returning is awkward.
 */
export type UnaryHandler<I extends DescMessage, O extends DescMessage, E extends DomainError> = (
  request: MessageShape<I>,
  context: CallContext,
) => Promise<Result<MessageInitShape<O>, E>>;

/**
 * A server-streaming handler: every value it yields is sent; the stream ends when it
 * returns. It should honour `context.signal` — the adapter also stops pulling from it
 * and calls `return()` once the client is gone. Domain failures are thrown as `DomainFailure`.
 */
export type ServerStreamingHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: CallContext,
) => AsyncIterable<MessageInitShape<O> | EncodedMessage<O>>;

type HandlerFor<M, E extends DomainError> = M extends {
  readonly methodKind: "unary";
  readonly input: infer I extends DescMessage;
  readonly output: infer O extends DescMessage;
}
  ? UnaryHandler<I, O, E>
  : M extends {
        readonly methodKind: "server_streaming";
        readonly input: infer I extends DescMessage;
        readonly output: infer O extends DescMessage;
      }
    ? ServerStreamingHandler<I, O>
    : never;

/**
 * The implementation of a whole service, typed from its protobuf-es descriptor: one
 * handler per RPC, keyed by the method's `localName`. Client- and bidi-streaming RPCs map
 * to `never`, so a service using them cannot be implemented (the adapter does not support them).
 */
export type ServiceImplementation<S extends DescService, E extends DomainError> = {
  readonly [K in keyof S["method"]]: HandlerFor<S["method"][K], E>;
};

/**
 * What the adapter needs to serve a service besides its handlers: the scopes each method
 * requires (every method must be listed, `PUBLIC` must be said out loud) and the
 * service's exhaustive domain-error mapping.
 */
export interface ServiceOptions<S extends DescService, E extends DomainError> {
  readonly access: { readonly [K in keyof S["method"]]: MethodAccess };
  readonly errors: DomainErrorMapping<E>;
}
