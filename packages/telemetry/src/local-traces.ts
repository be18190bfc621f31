/**
 * @tributary/telemetry/local-traces: the spans the local stack wrote, read back and shown as a
 * tree — what `tributary trace <order id>` prints on a machine without Jaeger. Plain Node: it
 * loads none of the OpenTelemetry SDK, so a command that imports it starts fast.
 */
export { decodeOtlpJsonTraces } from "./local-traces/decode-otlp-json.js";
export { localTracesDir } from "./local-traces/local-traces-dir.js";
export { loadOrderTrace, printTrace, traceSpansOfOrder } from "./local-traces/order-trace.js";
export type { LoadOrderTraceError, OrderTrace } from "./local-traces/order-trace.js";
export { readLocalSpans } from "./local-traces/read-local-spans.js";
export type { LocalSpans, ReadLocalSpansError, ReadLocalSpansOptions, UnreadableLine } from "./local-traces/read-local-spans.js";
export { buildTraceTrees, formatNanos, renderTraceTree } from "./local-traces/render-trace-tree.js";
export type { RenderTraceTreeOptions, TraceNode, TraceTree } from "./local-traces/render-trace-tree.js";
export { orderIdAttribute } from "./local-traces/trace-span.js";
export type { TraceSpan, TraceSpanKind, TraceSpanLink, TraceSpanStatus } from "./local-traces/trace-span.js";
