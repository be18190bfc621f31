/** Where the OTLP/HTTP exporters send spans and metrics; `undefined` when nothing is exported. */
export interface OtlpEndpoints {
  readonly tracesUrl: string;
  readonly metricsUrl: string;
}

function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function withPath(base: string, path: string): string {
  return `${base.endsWith("/") ? base : `${base}/`}${path}`;
}

/**
 * The OTLP/HTTP URLs from the environment the caller passed in, by the OTLP exporter spec:
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `…_METRICS_ENDPOINT` as they are, otherwise
 * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` / `/v1/metrics`. It exists because the exporters
 * would otherwise read `process.env` themselves, and `startTelemetry`'s `env` (what `main.ts`
 * passes, what tests pass) must be the one that decides. Internal to the package.
 */
export function otlpEndpoints(env: Readonly<Record<string, string | undefined>>): OtlpEndpoints | undefined {
  const base = nonBlank(env["OTEL_EXPORTER_OTLP_ENDPOINT"]);
  const traces = nonBlank(env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);
  const metrics = nonBlank(env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]);
  if (base === undefined && traces === undefined && metrics === undefined) return undefined;
  const tracesUrl = traces ?? (base === undefined ? undefined : withPath(base, "v1/traces"));
  const metricsUrl = metrics ?? (base === undefined ? undefined : withPath(base, "v1/metrics"));
  if (tracesUrl === undefined || metricsUrl === undefined) {
    throw new Error(
      "OTLP export: set OTEL_EXPORTER_OTLP_ENDPOINT, or both OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    );
  }
  return { tracesUrl, metricsUrl };
}
