import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";

/**
 * A span exporter that appends each batch of finished spans to a file as one line of OTLP/JSON
 * (an `ExportTraceServiceRequest`, encoded by OpenTelemetry's own JSON serializer) — the format
 * an OpenTelemetry collector's `file` exporter writes, so `readLocalSpans` reads either. It is how
 * a service's spans reach `tributary trace` on a machine without a collector: each process writes
 * its own file (`<service>-<pid>.jsonl`), so several services never interleave their writes.
 */
export class JsonLinesSpanExporter implements SpanExporter {
  /** The file this exporter appends to. */
  readonly path: string;
  readonly #dir: string;
  #writes: Promise<void> = Promise.resolve();
  #made = false;
  #shutDown = false;

  constructor(options: { readonly dir: string; readonly serviceName: string; readonly pid?: number }) {
    this.#dir = options.dir;
    const safeName = options.serviceName.replace(/[^A-Za-z0-9._-]/g, "_");
    this.path = join(options.dir, `${safeName}-${options.pid ?? process.pid}.jsonl`);
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.#shutDown) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error("JsonLinesSpanExporter is shut down") });
      return;
    }
    if (spans.length === 0) {
      resultCallback({ code: ExportResultCode.SUCCESS });
      return;
    }
    const line = `${new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans))}\n`;
    // One append at a time, in order: a line is never split by another batch's write, and a
    // failed append fails its own batch only.
    const write = this.#writes.then(async () => {
      if (!this.#made) {
        await mkdir(this.#dir, { recursive: true });
        this.#made = true;
      }
      await appendFile(this.path, line, "utf8");
    });
    this.#writes = write.catch(() => undefined);
    write.then(
      () => resultCallback({ code: ExportResultCode.SUCCESS }),
      (error: unknown) => resultCallback({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }

  /** Resolves once every accepted batch is on disk. */
  async forceFlush(): Promise<void> {
    await this.#writes;
  }

  async shutdown(): Promise<void> {
    this.#shutDown = true;
    await this.forceFlush();
  }
}
