import { create, type DescMethod, type DescService, type Message } from "@bufbuild/protobuf";
import { context as otelContext, trace } from "@opentelemetry/api";
import {
  type sendUnaryData,
  Server,
  ServerCredentials,
  type ServerOptions as GrpcServerOptions,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { Result } from "@tributary/result";
import { createAuthInterceptor, type MethodAccess, PUBLIC, type PrincipalStore } from "./auth-interceptor.js";
import { createCallContext, type CallContext } from "./call-context.js";
import { EncodedMessage } from "./encoded-message.js";
import { type DomainError, type DomainErrorMapping, DomainFailure } from "./domain-error-mapping.js";
import { domainErrorStatus, type FailureStatus, thrownStatus } from "./error-status.js";
import { consoleLogger, type RpcLogger } from "./logger.js";
import { createMetricsInterceptor } from "./metrics-interceptor.js";
import { endRpcSpan, startServerSpan } from "./rpc-span.js";
import { createMethodDefinition, createServiceDefinition } from "./service-definition.js";
import type { ServiceImplementation, ServiceOptions } from "./service-implementation.js";
import { createTokenVerifier, type TokenTable } from "./token-table.js";
import { extractTraceContext } from "./trace-context.js";

/** The health states a service reports; `UNKNOWN` is what the health service says for an unregistered name. */
export type ServingStatus = "SERVING" | "NOT_SERVING";

/**
 * How a service tells load balancers and orchestrators whether to send it traffic
 * (`grpc.health.v1.Health` check and watch). `""` is the whole server.
 */
export interface HealthReporter {
  setStatus(service: DescService | "", status: ServingStatus): void;
}

/** Configuration of {@link createServer}. */
export interface RpcServerOptions {
  /** Bearer tokens the server accepts; see {@link TokenTable}. */
  readonly tokens: TokenTable;
  readonly logger?: RpcLogger;
  /** Passed through to the grpc-js `Server` (message sizes, keepalive…). */
  readonly grpcOptions?: GrpcServerOptions;
}

/**
 * A grpc-js server that serves protobuf-es descriptors behind the bearer-token/scope
 * interceptor, with the standard health service already registered (public).
 */
export interface RpcServer {
  /** The underlying grpc-js server, for what this adapter does not wrap. */
  readonly grpcServer: Server;
  readonly health: HealthReporter;
  /** Registers a service; it reports SERVING from then on until told otherwise. */
  addService<S extends DescService, E extends DomainError>(
    service: S,
    implementation: ServiceImplementation<S, E>,
    options: ServiceOptions<S, E>,
  ): void;
  /** Binds and starts; resolves to the bound port (useful with port 0). */
  listen(address: string, credentials?: ServerCredentials): Promise<number>;
  /** Reports NOT_SERVING, lets in-flight calls finish, and stops. */
  shutdown(): Promise<void>;
}

const HEALTH_SERVICE = "grpc.health.v1.Health";
const HEALTH_METHODS = ["Check", "Watch", "List"] as const;

/**
 * Creates the server. Every method's access is declared when its service is added;
 * a path without a declaration (anything added to `grpcServer` directly) is refused.
 */
export function createServer(options: RpcServerOptions): RpcServer {
  const logger = options.logger ?? consoleLogger;
  const policy = new Map<string, MethodAccess>();
  const principals: PrincipalStore = new WeakMap();
  const interceptor = createAuthInterceptor(policy, createTokenVerifier(options.tokens), principals);
  const grpcServer = new Server({
    ...options.grpcOptions,
    // grpc-js wraps the call with each interceptor in turn, the last outermost: metrics first so
    // that it sees the status of every call, the auth interceptor's refusals included.
    interceptors: [createMetricsInterceptor(), ...(options.grpcOptions?.interceptors ?? []), interceptor],
  });
  const healthImpl = new HealthImplementation({ "": "NOT_SERVING" });
  healthImpl.addToServer(grpcServer);
  for (const method of HEALTH_METHODS) {
    policy.set(`/${HEALTH_SERVICE}/${method}`, PUBLIC);
  }
  const serviceNames: string[] = [""];
  const health: HealthReporter = {
    setStatus(service, status) {
      healthImpl.setStatus(service === "" ? "" : service.typeName, status);
    },
  };

  return {
    grpcServer,
    health,
    addService(service, implementation, serviceOptions) {
      const handlers: UntypedServiceImplementation = {};
      for (const method of service.methods) {
        const access = (serviceOptions.access as Readonly<Record<string, MethodAccess | undefined>>)[method.localName];
        if (access === undefined || (access !== PUBLIC && access.length === 0)) {
          throw new Error(`${service.typeName}.${method.name}: no access declared (list its scopes or PUBLIC)`);
        }
        const handler = (implementation as Readonly<Record<string, unknown>>)[method.localName];
        if (typeof handler !== "function") {
          throw new Error(`${service.typeName}.${method.name}: no handler`);
        }
        policy.set(createMethodDefinition(method).path, access);
        // The descriptor decided the method kind; the implementation type was checked against it.
        handlers[method.localName] = adaptHandler(method, handler as UnaryFn<DomainError> | StreamFn, serviceOptions.errors as DomainErrorMapping<DomainError>, principals, logger);
      }
      grpcServer.addService(createServiceDefinition(service), handlers);
      serviceNames.push(service.typeName);
      healthImpl.setStatus(service.typeName, "SERVING");
    },
    listen(address, credentials = ServerCredentials.createInsecure()) {
      return new Promise((resolve, reject) => {
        grpcServer.bindAsync(address, credentials, (error, port) => {
          if (error !== null) {
            reject(error);
            return;
          }
          healthImpl.setStatus("", "SERVING");
          resolve(port);
        });
      });
    },
    shutdown() {
      for (const name of serviceNames) {
        healthImpl.setStatus(name, "NOT_SERVING");
      }
      return new Promise((resolve, reject) => {
        grpcServer.tryShutdown((error) => (error === undefined ? resolve() : reject(error)));
      });
    },
  };
}

function adaptHandler<E extends DomainError>(
  method: DescMethod,
  handler: UnaryFn<E> | StreamFn,
  errors: DomainErrorMapping<E>,
  principals: PrincipalStore,
  logger: RpcLogger,
): UntypedServiceImplementation[string] {
  switch (method.methodKind) {
    case "unary":
      return unaryHandler(method, handler as UnaryFn<E>, errors, principals, logger);
    case "server_streaming":
      return serverStreamingHandler(method, handler as StreamFn, errors, principals, logger);
    case "client_streaming":
    case "bidi_streaming":
      throw new Error(`${method.parent.typeName}.${method.name}: ${method.methodKind} is not supported`);
  }
}

type UnaryFn<E extends DomainError> = (request: Message, context: CallContext) => Promise<Result<object, E>>;
type StreamFn = (request: Message, context: CallContext) => AsyncIterable<object>;

/**
 * The SERVER span of one call, child of the caller's span from the metadata, and the context the
 * handler runs in (that span active), so everything it does continues the caller's trace.
 */
function serverTrace(method: DescMethod, call: ServerUnaryCall<Message, Message> | ServerWritableStream<Message, Message>) {
  const parent = extractTraceContext(call.metadata);
  const span = startServerSpan(method, parent);
  return { span, active: trace.setSpan(parent, span) };
}

/** The status a call ended with when the client went away first (nothing is sent then). */
function abortedCode(signal: AbortSignal): number {
  const reason: unknown = signal.reason;
  return typeof reason === "object" && reason !== null && typeof (reason as { code?: unknown }).code === "number"
    ? (reason as { code: number }).code
    : 1;
}

function unaryHandler<E extends DomainError>(
  method: DescMethod,
  handler: UnaryFn<E>,
  errors: DomainErrorMapping<E>,
  principals: PrincipalStore,
  logger: RpcLogger,
) {
  const output = method.output;
  return (call: ServerUnaryCall<Message, Message>, callback: sendUnaryData<Message>): void => {
    const { context, release } = createCallContext(call, principals);
    const { span, active } = serverTrace(method, call);
    const fail = (failure: FailureStatus, thrown?: unknown): void => {
      endRpcSpan(span, "server", failure.code, failure.details, thrown);
      callback(failure);
    };
    const respond = async (): Promise<void> => {
      try {
        const result = await handler(call.request, context);
        release();
        if (result.ok) {
          const response = create(output, result.value as never);
          endRpcSpan(span, "server", 0);
          callback(null, response);
        } else {
          fail(domainErrorStatus(result.error, errors, logger, context.method));
        }
      } catch (thrown) {
        release();
        if (context.signal.aborted) {
          endRpcSpan(span, "server", abortedCode(context.signal), "", thrown);
        } else {
          fail(thrownStatus(thrown, errors, logger, context.method), thrown instanceof DomainFailure ? undefined : thrown);
        }
      }
    };
    void otelContext.with(active, respond);
  };
}

function serverStreamingHandler<E extends DomainError>(
  method: DescMethod,
  handler: StreamFn,
  errors: DomainErrorMapping<E>,
  principals: PrincipalStore,
  logger: RpcLogger,
) {
  const output = method.output;
  return (call: ServerWritableStream<Message, Message>): void => {
    const { context, release } = createCallContext(call, principals);
    const { span, active } = serverTrace(method, call);
    const aborted = new Promise<"aborted">((resolve) => {
      context.signal.addEventListener("abort", () => resolve("aborted"), { once: true });
    });
    const pump = async (): Promise<void> => {
      let iterator: AsyncIterator<object> | undefined;
      let finished = false;
      try {
        iterator = handler(call.request, context)[Symbol.asyncIterator]();
        while (!context.signal.aborted) {
          const next = await Promise.race([iterator.next(), aborted]);
          if (next === "aborted") {
            break;
          }
          if (next.done === true) {
            finished = true;
            break;
          }
          const message = next.value instanceof EncodedMessage ? next.value : create(output, next.value as never);
          if (!call.write(message as Message)) {
            await Promise.race([new Promise((resolve) => call.once("drain", resolve)), aborted]);
          }
        }
        release();
        if (context.signal.aborted) {
          endRpcSpan(span, "server", abortedCode(context.signal));
        } else {
          endRpcSpan(span, "server", 0);
          call.end();
        }
      } catch (thrown) {
        finished = true;
        release();
        if (context.signal.aborted) {
          endRpcSpan(span, "server", abortedCode(context.signal), "", thrown);
        } else {
          const failure = thrownStatus(thrown, errors, logger, context.method);
          endRpcSpan(span, "server", failure.code, failure.details, thrown);
          call.emit("error", failure);
        }
      } finally {
        if (!finished && iterator?.return !== undefined) {
          // Not awaited: a handler stuck in an await finishes its return() only when that
          // await settles, and the call is already over.
          iterator.return().catch((error: unknown) => {
            logger.error("stream handler failed while stopping", { method: context.method, error });
          });
        }
      }
    };
    void otelContext.with(active, pump);
  };
}
