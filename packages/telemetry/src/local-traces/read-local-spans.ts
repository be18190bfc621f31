import { createReadStream } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { err, ok, type Result } from "@tributary/result";
import { decodeOtlpJsonTraces } from "./decode-otlp-json.js";
import type { TraceSpan } from "./trace-span.js";

/** What {@link readLocalSpans} found in a traces directory. */
export interface LocalSpans {
  readonly spans: readonly TraceSpan[];
  /** The `*.jsonl` files read, by name, in name order. */
  readonly files: readonly string[];
  /**
   * Lines that were not an OTLP trace request. The last line of a file a service is still
   * writing can be cut short; anything else here means the file was edited or is not ours.
   */
  readonly unreadable: readonly UnreadableLine[];
}

/** One line that could not be decoded, and why. */
export interface UnreadableLine {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly reason: string;
}

/** Why a traces directory could not be read at all. */
export type ReadLocalSpansError = {
  readonly code: "traces_dir_missing";
  readonly dir: string;
  readonly message: string;
};

/** Options of {@link readLocalSpans}. */
export interface ReadLocalSpansOptions {
  /**
   * Decode only lines whose text contains one of these strings (an order id, trace ids). Lines
   * are whole export batches, so this is a cheap superset filter before JSON parsing; the caller
   * still filters the spans. All lines unless told.
   */
  readonly mentioning?: readonly string[];
}

/**
 * Reads every span the local stack collected: each `*.jsonl` file in `dir` holds one OTLP/JSON
 * `ExportTraceServiceRequest` per line, as the JSON-lines span exporter (one file per service
 * process) and an OpenTelemetry collector's `file` exporter write them. Files are read line by
 * line, so a large business day does not have to fit in one string.
 */
export async function readLocalSpans(
  dir: string,
  options: ReadLocalSpansOptions = {},
): Promise<Result<LocalSpans, ReadLocalSpansError>> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith(".jsonl")).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    return err({
      code: "traces_dir_missing",
      dir,
      message: `no traces directory at ${dir}: start the local stack (it sets TRIBUTARY_TRACES_DIR), or point at the directory the services write to`,
    });
  }
  const spans: TraceSpan[] = [];
  const unreadable: UnreadableLine[] = [];
  const mentioning = options.mentioning;
  for (const name of names) {
    const lines = createInterface({ input: createReadStream(join(dir, name), "utf8"), crlfDelay: Infinity });
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber += 1;
      if (line.trim() === "") continue;
      if (mentioning !== undefined && !mentioning.some((needle) => line.includes(needle))) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (error) {
        unreadable.push({ file: name, line: lineNumber, reason: `not JSON (${(error as Error).message})` });
        continue;
      }
      const decoded = decodeOtlpJsonTraces(parsed);
      if (typeof decoded === "string") unreadable.push({ file: name, line: lineNumber, reason: decoded });
      else spans.push(...decoded);
    }
  }
  return ok({ spans, files: names, unreadable });
}
