import type { IncomingMessage, ServerResponse } from "node:http";
import { context, metrics, propagation, trace, type Meter, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from "@opentelemetry/sdk-metrics";
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  TracerProvider,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { JsonLinesSpanExporter } from "./json-lines-span-exporter.js";
import { otlpEndpoints } from "./otlp-endpoints.js";

/** How a service starts its telemetry; `env` is read only here, passed in by `main.ts`. */
export interface StartTelemetryOptions {
  /** `service.name` on every span and metric, e.g. `order`. */
  readonly serviceName: string;
  readonly serviceVersion?: string;
  /**
   * The process environment. `OTEL_EXPORTER_OTLP_ENDPOINT` (or the `…_TRACES_ENDPOINT` /
   * `…_METRICS_ENDPOINT` pair) is read from here: when set, spans and metrics go to that
   * collector over OTLP/HTTP protobuf. `TRIBUTARY_TRACES_DIR`, when set, makes the service also
   * append its finished spans to `<dir>/<service>-<pid>.jsonl` (OTLP/JSON lines) for
   * `tributary trace` — the local stack sets it. With neither, no span leaves the process. Other
   * `OTEL_*` exporter settings (headers, timeout, compression) the exporters read from `process.env`.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Extra span exporters, exported span by span (tests pass an `InMemorySpanExporter`). */
  readonly spanExporters?: readonly SpanExporter[];
  /** Extra metric readers (tests pass a reader over an `InMemoryMetricExporter`). */
  readonly metricReaders?: readonly MetricReader[];
  /**
   * Whether the Prometheus reader is installed (it serves through {@link Telemetry.serveMetrics},
   * on a server of the caller's choosing, and opens no port itself); on unless told.
   */
  readonly prometheus?: boolean;
}

/** A started telemetry pipeline; `shutdown` flushes what is buffered. */
export interface Telemetry {
  readonly tracer: Tracer;
  readonly meter: Meter;
  readonly tracerProvider: TracerProvider;
  readonly meterProvider: MeterProvider;
  /**
   * Answers a Prometheus scrape with every instrument of this process, in the text exposition
   * format (OpenTelemetry's Prometheus exporter: dots become underscores, counters get `_total`,
   * `otel_scope_name` says which meter). 503 when started with `prometheus: false`.
   */
  serveMetrics(request: IncomingMessage, response: ServerResponse): void;
  /** The JSON-lines file this process appends its spans to, when `TRIBUTARY_TRACES_DIR` was set. */
  readonly localTracesFile: string | undefined;
  /** Exports everything buffered now (tests call it before reading an exporter). */
  forceFlush(): Promise<void>;
  /** Flushes and stops; unregisters the global providers so a later start is clean. */
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry for one service: the AsyncLocalStorage context manager (so the active
 * span follows `await`), the W3C `traceparent`/`tracestate` + baggage propagators that the event
 * envelope carries, a tracer provider and a meter provider registered globally, and OTLP
 * exporters when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Call it first thing in `main.ts`, after
 * `--import @tributary/telemetry/register` has installed the ESM loader hook.
 */
export async function startTelemetry(options: StartTelemetryOptions): Promise<Telemetry> {
  const env = options.env ?? {};
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: options.serviceName,
    ...(options.serviceVersion === undefined ? {} : { [ATTR_SERVICE_VERSION]: options.serviceVersion }),
  });
  const otlp = otlpEndpoints(env);
  const tracesDir = env["TRIBUTARY_TRACES_DIR"]?.trim() ?? "";

  const spanProcessors: SpanProcessor[] = (options.spanExporters ?? []).map(
    (exporter) => new SimpleSpanProcessor({ exporter }),
  );
  const metricReaders: MetricReader[] = [...(options.metricReaders ?? [])];
  if (otlp !== undefined) {
    // Loaded only when used: the exporters pull in protobuf encoders a silent service never needs.
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
    const { OTLPMetricExporter } = await import("@opentelemetry/exporter-metrics-otlp-proto");
    spanProcessors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: otlp.tracesUrl }) }));
    metricReaders.push(
      new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: otlp.metricsUrl }) }),
    );
  }

  let localTracesFile: string | undefined;
  if (tracesDir !== "") {
    const exporter = new JsonLinesSpanExporter({ dir: tracesDir, serviceName: options.serviceName });
    localTracesFile = exporter.path;
    // A short delay: `tributary trace` right after a payment should find its spans.
    spanProcessors.push(new BatchSpanProcessor({ exporter, scheduledDelayMillis: 500 }));
  }
  // No server of its own: the service kit serves it on the health endpoint's GET /metrics.
  const prometheus = options.prometheus === false ? undefined : new PrometheusExporter({ preventServerStart: true });
  // The exporter pins its own sdk-metrics patch release (3.1.0 beside our 3.1.1): the same
  // MetricReader at run time, two declarations to the compiler.
  if (prometheus !== undefined) metricReaders.push(prometheus as unknown as MetricReader);

  const tracerProvider = new TracerProvider({ resource, spanProcessors });
  const meterProvider = new MeterProvider({ resource, readers: metricReaders });

  context.disable();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.disable();
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.disable();
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.disable();
  metrics.setGlobalMeterProvider(meterProvider);

  const telemetry: Telemetry = {
    tracer: trace.getTracer(options.serviceName),
    meter: metrics.getMeter(options.serviceName),
    tracerProvider,
    meterProvider,
    localTracesFile,
    serveMetrics: (request, response) => {
      if (prometheus === undefined) {
        response.writeHead(503, { "content-type": "text/plain" }).end("telemetry was started without the Prometheus reader\n");
        return;
      }
      prometheus.getMetricsRequestHandler(request, response);
    },
    forceFlush: async () => {
      await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
    },
    shutdown: async () => {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
      if (active === telemetry) active = undefined;
    },
  };
  active = telemetry;
  return telemetry;
}

let active: Telemetry | undefined;

/**
 * The telemetry this process started last and has not shut down, if any. It exists so the
 * service kit can serve `/metrics` for whatever `runServiceMain` (or a test) started, without
 * every service threading the handle through; OpenTelemetry's own providers are process-global
 * in the same way.
 */
export function activeTelemetry(): Telemetry | undefined {
  return active;
}
