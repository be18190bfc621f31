import { describe, expect, it } from "vitest";
import { otlpEndpoints } from "./otlp-endpoints.js";

describe("otlpEndpoints", () => {
  it("appends the signal paths to OTEL_EXPORTER_OTLP_ENDPOINT, with or without a trailing slash", () => {
    expect(otlpEndpoints({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toEqual({
      tracesUrl: "http://collector:4318/v1/traces",
      metricsUrl: "http://collector:4318/v1/metrics",
    });
    expect(otlpEndpoints({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/otlp/" })?.tracesUrl).toBe(
      "http://collector:4318/otlp/v1/traces",
    );
  });

  it("uses a signal-specific endpoint as it is", () => {
    expect(
      otlpEndpoints({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:9999/t" }),
    ).toEqual({ tracesUrl: "http://b:9999/t", metricsUrl: "http://a:4318/v1/metrics" });
  });

  it("exports nothing when no endpoint is set or it is blank", () => {
    expect(otlpEndpoints({})).toBeUndefined();
    expect(otlpEndpoints({ OTEL_EXPORTER_OTLP_ENDPOINT: "  " })).toBeUndefined();
  });

  it("refuses half a configuration rather than silently dropping a signal", () => {
    expect(() => otlpEndpoints({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:9999/t" })).toThrow(/METRICS_ENDPOINT/);
  });
});
