import { type Attributes, type Context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { DescMethod } from "@bufbuild/protobuf";

/**
 * OpenTelemetry RPC semantic-convention attribute names (the gRPC flavour, `rpc.grpc.*`),
 * spelled once. They are the incubating names of `@opentelemetry/semantic-conventions`, which
 * backends widely understand; a string table keeps the naming churn out of the code.
 */
export const rpcAttributes = {
  system: "rpc.system",
  service: "rpc.service",
  method: "rpc.method",
  grpcStatusCode: "rpc.grpc.status_code",
  serverAddress: "server.address",
  serverPort: "server.port",
} as const;

const TRACER_NAME = "@tributary/grpc";

// On the server only these codes mean the server failed (the RPC conventions); the others are
// the caller's doing (bad argument, not found, unauthenticated…) and leave the span status unset.
const serverErrorCodes: ReadonlySet<number> = new Set([2, 4, 12, 13, 14, 15]);

/** `/package.Service/Method` without the leading slash: the span name the conventions ask for. */
function spanName(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}

function methodAttributes(method: DescMethod): Attributes {
  return {
    [rpcAttributes.system]: "grpc",
    [rpcAttributes.service]: method.parent.typeName,
    [rpcAttributes.method]: method.name,
  };
}

/** `host:port` → server.address / server.port; a name without a port gives just the address. */
function peerAttributes(address: string): Attributes {
  const colon = address.lastIndexOf(":");
  const port = colon < 0 ? Number.NaN : Number.parseInt(address.slice(colon + 1), 10);
  const host = colon < 0 ? address : address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return Number.isInteger(port)
    ? { [rpcAttributes.serverAddress]: host, [rpcAttributes.serverPort]: port }
    : { [rpcAttributes.serverAddress]: host };
}

/**
 * Starts the CLIENT span of one outgoing call as a child of `parent` (the caller's active
 * context). Internal to the package; the client injects the returned span's context into the
 * call metadata.
 */
export function startClientSpan(method: DescMethod, address: string, parent: Context): Span {
  return trace.getTracer(TRACER_NAME).startSpan(
    spanName(method),
    { kind: SpanKind.CLIENT, attributes: { ...methodAttributes(method), ...peerAttributes(address) } },
    parent,
  );
}

/**
 * Starts the SERVER span of one incoming call as a child of the caller's span (`parent`, from
 * the metadata). The handler runs with it active, so what it does (an outbox append, a Kafka
 * send) continues the caller's trace. Internal to the package.
 */
export function startServerSpan(method: DescMethod, parent: Context): Span {
  return trace
    .getTracer(TRACER_NAME)
    .startSpan(spanName(method), { kind: SpanKind.SERVER, attributes: methodAttributes(method) }, parent);
}

/**
 * Records the call's final gRPC status on its span and ends it. A client span is an error for
 * every non-OK status; a server span only for the codes that say the server failed. `error`
 * (the thrown cause, if any) is recorded as an exception event, never sent to the caller.
 */
export function endRpcSpan(span: Span, kind: "client" | "server", statusCode: number, message = "", error?: unknown): void {
  span.setAttribute(rpcAttributes.grpcStatusCode, statusCode);
  const failed = statusCode !== 0 && (kind === "client" || serverErrorCodes.has(statusCode));
  if (failed) {
    span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : { message: typeof error === "string" ? error : `non-Error thrown (${typeof error})` });
  }
  span.end();
}
