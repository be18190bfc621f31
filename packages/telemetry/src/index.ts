/**
 * @tributary/telemetry: one call to start OpenTelemetry in a service, a logger that stamps
 * trace ids, the messaging metrics the event backbone records, the Prometheus scrape handler and
 * the JSON-lines span file for machines without a collector. The ESM loader hook is the separate
 * entry `@tributary/telemetry/register` (`node --import`); reading local spans back and rendering
 * them as a tree is `@tributary/telemetry/local-traces`.
 */
export { activeTelemetry, startTelemetry } from "./start-telemetry.js";
export type { StartTelemetryOptions, Telemetry } from "./start-telemetry.js";
export { createLogger } from "./create-logger.js";
export type { CreateLoggerOptions, Logger } from "./create-logger.js";
export { messagingMetrics } from "./messaging-metrics.js";
export type { MessagingMetrics } from "./messaging-metrics.js";
export { JsonLinesSpanExporter } from "./json-lines-span-exporter.js";
export { setOrderIdOnActiveSpan } from "./set-order-id.js";
export { activeTraceParent, contextOfTraceParent } from "./stored-trace-context.js";
export { orderIdAttribute } from "./local-traces/trace-span.js";
