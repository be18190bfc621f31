import type { DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { type Context, context as otelContext, trace } from "@opentelemetry/api";
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  credentials as grpcCredentials,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";
import { Code, codeFromWire } from "./code.js";
import { RpcError } from "./rpc-error.js";
import { endRpcSpan, rpcAttributes, startClientSpan } from "./rpc-span.js";
import { createMethodDefinition } from "./service-definition.js";
import { decodeStatusDetails } from "./status-details.js";
import { injectTraceContext } from "./trace-context.js";

/** Per-client settings of {@link createClient}. */
export interface ClientOptions {
  /** Channel credentials; plaintext when omitted (loopback and tests). */
  readonly credentials?: ChannelCredentials;
  /** Sent as `authorization: Bearer <token>` on every call. */
  readonly bearerToken?: string;
  /** Deadline for calls that do not set their own; none when omitted. */
  readonly defaultDeadlineMs?: number;
  readonly channelOptions?: ChannelOptions;
}

/** Per-call settings: a deadline overriding the client default, extra metadata, a cancel signal. */
export interface CallSettings {
  readonly deadlineMs?: number;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

type ClientMethod<M> = M extends {
  readonly methodKind: "unary";
  readonly input: infer I extends DescMessage;
  readonly output: infer O extends DescMessage;
}
  ? (request: MessageInitShape<I>, settings?: CallSettings) => Promise<MessageShape<O>>
  : M extends {
        readonly methodKind: "server_streaming";
        readonly input: infer I extends DescMessage;
        readonly output: infer O extends DescMessage;
      }
    ? (request: MessageInitShape<I>, settings?: CallSettings) => AsyncIterable<MessageShape<O>>
    : never;

/**
 * A typed client for one service, one function per RPC keyed by `localName`: unary calls
 * return a promise, server-streaming calls an async iterable (breaking out of the loop
 * cancels the call). Every failure is an {@link RpcError}.
 */
export type RpcClient<S extends DescService> = {
  readonly [K in keyof S["method"]]: ClientMethod<S["method"][K]>;
};

const channels = new WeakMap<object, Client>();

/** Converts a grpc-js failure into the package's one error type, decoding rich details. */
function toRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) {
    return error;
  }
  if (isServiceError(error)) {
    return new RpcError(error.details, codeFromWire(error.code), decodeStatusDetails(error.metadata));
  }
  return new RpcError(error instanceof Error ? error.message : String(error), Code.Unknown);
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

/**
 * Creates a typed client for a protobuf-es service descriptor at `address`
 * (`host:port`). Close it with {@link closeClient}.
 */
export function createClient<S extends DescService>(
  service: S,
  address: string,
  options: ClientOptions = {},
): RpcClient<S> {
  const channel = new Client(
    address,
    options.credentials ?? grpcCredentials.createInsecure(),
    options.channelOptions ?? {},
  );
  // The call's trace context goes in after the caller's own metadata: the CLIENT span is the
  // parent the server must see, whatever `traceparent` the caller copied from elsewhere.
  const metadataFor = (settings: CallSettings, traced: Context): Metadata => {
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(settings.metadata ?? {})) {
      metadata.set(key, value);
    }
    injectTraceContext(traced, metadata);
    if (options.bearerToken !== undefined) {
      metadata.set("authorization", `Bearer ${options.bearerToken}`);
    }
    return metadata;
  };
  const callOptionsFor = (settings: CallSettings): CallOptions => {
    const deadlineMs = settings.deadlineMs ?? options.defaultDeadlineMs;
    return deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  };

  const client: Record<string, unknown> = {};
  for (const method of service.methods) {
    const definition = createMethodDefinition(method);
    const input: DescMessage = method.input;
    switch (method.methodKind) {
      case "unary":
        client[method.localName] = (request: object, settings: CallSettings = {}) =>
          new Promise((resolve, reject) => {
            if (settings.signal?.aborted === true) {
              reject(new RpcError("cancelled before start", Code.Cancelled));
              return;
            }
            const span = startClientSpan(method, address, otelContext.active());
            const cancel = (): void => call.cancel();
            const call = channel.makeUnaryRequest(
              definition.path,
              definition.requestSerialize,
              definition.responseDeserialize,
              create(input, request as never),
              metadataFor(settings, trace.setSpan(otelContext.active(), span)),
              callOptionsFor(settings),
              (error, response) => {
                settings.signal?.removeEventListener("abort", cancel);
                if (error === null) {
                  endRpcSpan(span, "client", 0);
                  resolve(response);
                } else {
                  const failure = toRpcError(error);
                  endRpcSpan(span, "client", failure.code, failure.message);
                  reject(failure);
                }
              },
            );
            settings.signal?.addEventListener("abort", cancel, { once: true });
          });
        break;
      case "server_streaming":
        client[method.localName] = (request: object, settings: CallSettings = {}) => {
          // The caller's context when it asked for the stream, not when it first pulls from it.
          const parent = otelContext.active();
          return (async function* () {
            if (settings.signal?.aborted === true) {
              throw new RpcError("cancelled before start", Code.Cancelled);
            }
            const span = startClientSpan(method, address, parent);
            const call = channel.makeServerStreamRequest(
              definition.path,
              definition.requestSerialize,
              definition.responseDeserialize,
              create(input, request as never),
              metadataFor(settings, trace.setSpan(parent, span)),
              callOptionsFor(settings),
            );
            const cancel = (): void => call.cancel();
            settings.signal?.addEventListener("abort", cancel, { once: true });
            let ended = false;
            try {
              for await (const message of call) {
                yield message as unknown;
              }
              ended = true;
              endRpcSpan(span, "client", 0);
            } catch (error) {
              ended = true;
              const failure = toRpcError(error);
              endRpcSpan(span, "client", failure.code, failure.message);
              throw failure;
            } finally {
              settings.signal?.removeEventListener("abort", cancel);
              if (!ended) {
                // The consumer stopped early: tell the server, and absorb the CANCELLED
                // status grpc-js then reports on a stream nobody reads any more. The span
                // records CANCELLED without an error status: stopping was the caller's choice.
                call.on("error", () => {});
                call.cancel();
                span.setAttribute(rpcAttributes.grpcStatusCode, Code.Cancelled);
                span.end();
              }
            }
          })();
        };
        break;
      case "client_streaming":
      case "bidi_streaming":
        break;
    }
  }
  channels.set(client, channel);
  return client as RpcClient<S>;
}

/** Closes the channel behind a client made by {@link createClient}. */
export function closeClient(client: object): void {
  channels.get(client)?.close();
}
