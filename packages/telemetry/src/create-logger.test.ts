import { Writable } from "node:stream";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "./create-logger.js";
import { startTelemetry, type Telemetry } from "./start-telemetry.js";

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString("utf8")) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

let telemetry: Telemetry | undefined;
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
});

describe("createLogger", () => {
  it("stamps the active span's trace and span ids, and nothing outside a span", async () => {
    telemetry = await startTelemetry({ serviceName: "logger-test", spanExporters: [new InMemorySpanExporter()] });
    const { lines, stream } = capture();
    const logger = createLogger({ serviceName: "logger-test", destination: stream });
    logger.info("outside");
    const ids = await trace.getTracer("t").startActiveSpan("work", async (span) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.info("inside");
      span.end();
      return span.spanContext();
    });
    expect(lines[0]).toMatchObject({ msg: "outside", service: "logger-test" });
    expect(lines[0]).not.toHaveProperty("trace_id");
    expect(lines[1]).toMatchObject({ msg: "inside", trace_id: ids.traceId, span_id: ids.spanId, trace_flags: "01" });
  });
});
