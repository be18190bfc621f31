/**
 * @tributary/telemetry: one call to start OpenTelemetry in a service, a logger that stamps
 * trace ids, and the messaging metrics the event backbone records. The ESM loader hook is the
 * separate entry `@tributary/telemetry/register` (`node --import`).
 */
export { startTelemetry } from "./start-telemetry.js";
export type { StartTelemetryOptions, Telemetry } from "./start-telemetry.js";
export { createLogger } from "./create-logger.js";
export type { CreateLoggerOptions, Logger } from "./create-logger.js";
export { messagingMetrics } from "./messaging-metrics.js";
export type { MessagingMetrics } from "./messaging-metrics.js";
