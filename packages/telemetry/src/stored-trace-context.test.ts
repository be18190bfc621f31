import { context, propagation, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activeTraceParent, contextOfTraceParent } from "./stored-trace-context.js";

describe("a trace context stored beside a row", () => {
  const provider = new TracerProvider();
  const manager = new AsyncLocalStorageContextManager();
  beforeAll(() => {
    context.setGlobalContextManager(manager.enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(() => {
    context.disable();
    propagation.disable();
  });

  it("is the active span's traceparent, and a span started from it is that span's child", () => {
    const tracer = provider.getTracer("test");
    const parent = tracer.startSpan("consume OrderAccepted");
    const stored = context.with(trace.setSpan(context.active(), parent), () => activeTraceParent());
    parent.end();
    expect(stored).toBe(`00-${parent.spanContext().traceId}-${parent.spanContext().spanId}-01`);
    const child = tracer.startSpan("create payment", {}, contextOfTraceParent(stored));
    expect(child.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(trace.getSpanContext(contextOfTraceParent(stored))?.spanId).toBe(parent.spanContext().spanId);
    child.end();
  });

  it("is undefined with no active span, and nothing stored starts a trace of its own", () => {
    expect(activeTraceParent()).toBeUndefined();
    expect(trace.getSpanContext(contextOfTraceParent(undefined))).toBeUndefined();
  });
});
