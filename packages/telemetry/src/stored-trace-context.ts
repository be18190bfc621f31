import { context, propagation, ROOT_CONTEXT, trace, type Context } from "@opentelemetry/api";

/**
 * The active span's W3C `traceparent`, to store beside a row whose later work (a worker's call,
 * a webhook's apply) should continue the same trace; `undefined` when nothing is recording (no
 * tracer registered, or no span active).
 */
export function activeTraceParent(): string | undefined {
  if (trace.getSpan(context.active()) === undefined) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier["traceparent"];
}

/**
 * The context to start a span in that continues a stored `traceparent` as its parent; the root
 * context when none was stored (the span then starts a trace of its own).
 */
export function contextOfTraceParent(traceParent: string | undefined): Context {
  if (traceParent === undefined) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent: traceParent });
}
