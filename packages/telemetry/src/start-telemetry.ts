import { context, metrics, propagation, trace, type Meter, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
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
import { otlpEndpoints } from "./otlp-endpoints.js";

/** How a service starts its telemetry; `env` is read only here, passed in by `main.ts`. */
export interface StartTelemetryOptions {
  /** `service.name` on every span and metric, e.g. `order`. */
  readonly serviceName: string;
  readonly serviceVersion?: string;
  /**
   * The process environment. `OTEL_EXPORTER_OTLP_ENDPOINT` (or the `…_TRACES_ENDPOINT` /
   * `…_METRICS_ENDPOINT` pair) is read from here: when set, spans and metrics go to that
   * collector over OTLP/HTTP protobuf; otherwise nothing leaves the process. Other `OTEL_*`
   * exporter settings (headers, timeout, compression) are read by the exporters from `process.env`.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Extra span exporters, exported span by span (tests pass an `InMemorySpanExporter`). */
  readonly spanExporters?: readonly SpanExporter[];
  /** Extra metric readers (tests pass a reader over an `InMemoryMetricExporter`). */
  readonly metricReaders?: readonly MetricReader[];
}

/** A started telemetry pipeline; `shutdown` flushes what is buffered. */
export interface Telemetry {
  readonly tracer: Tracer;
  readonly meter: Meter;
  readonly tracerProvider: TracerProvider;
  readonly meterProvider: MeterProvider;
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

  return {
    tracer: trace.getTracer(options.serviceName),
    meter: metrics.getMeter(options.serviceName),
    tracerProvider,
    meterProvider,
    forceFlush: async () => {
      await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
    },
    shutdown: async () => {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
    },
  };
}
