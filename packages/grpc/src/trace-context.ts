import { type Context, propagation, ROOT_CONTEXT, type TextMapGetter, type TextMapSetter } from "@opentelemetry/api";
import type { Metadata } from "@grpc/grpc-js";

// Only text values: W3C `traceparent`/`tracestate` and `baggage` are ASCII, and a `-bin` key
// would need a Buffer.
const metadataSetter: TextMapSetter<Metadata> = {
  set(metadata, key, value) {
    metadata.set(key, value);
  },
};

const metadataGetter: TextMapGetter<Metadata> = {
  keys(metadata) {
    return Object.keys(metadata.getMap());
  },
  get(metadata, key) {
    const values = metadata.get(key).filter((value): value is string => typeof value === "string");
    if (values.length === 0) return undefined;
    return values.length === 1 ? values[0] : values;
  },
};

/**
 * Writes the trace context of `context` into outgoing call metadata through the global
 * propagator (`startTelemetry` registers W3C TraceContext + Baggage, so `traceparent`,
 * `tracestate`, `baggage`). Without a registered SDK the propagator is a no-op and nothing is
 * written. Internal to the package.
 */
export function injectTraceContext(context: Context, metadata: Metadata): void {
  propagation.inject(context, metadata, metadataSetter);
}

/**
 * Reads the caller's trace context from incoming call metadata, on top of the root context: a
 * server call continues the caller's trace, never whatever happened to be active in the server
 * process. Internal to the package.
 */
export function extractTraceContext(metadata: Metadata): Context {
  return propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
}
