import { trace } from "@opentelemetry/api";
import { pino, type DestinationStream, type Logger } from "pino";

/** What a service's logger needs to know. */
export interface CreateLoggerOptions {
  /** Logged as `service` on every line. */
  readonly serviceName: string;
  /** pino level; `info` unless told. */
  readonly level?: string;
  /** Where lines go; stdout unless told (tests pass a stream they read). */
  readonly destination?: DestinationStream;
}

/**
 * A pino logger whose every line carries `trace_id`, `span_id` and `trace_flags` of the span
 * active when the line is written, so a log line and its trace find each other in the backend.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const pinoOptions = {
    level: options.level ?? "info",
    base: { service: options.serviceName },
    mixin: traceFields,
  };
  return options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
}

/** The active span's ids in the OpenTelemetry log data model's field names, or nothing. */
function traceFields(): Record<string, string> {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext === undefined) return {};
  return {
    trace_id: spanContext.traceId,
    span_id: spanContext.spanId,
    trace_flags: `0${spanContext.traceFlags.toString(16)}`,
  };
}

export type { Logger };
