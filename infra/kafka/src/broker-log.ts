import { readFile } from "node:fs/promises";

/** The line KafkaRaftServer logs at INFO once the node serves clients. */
export const READY_LINE = "Kafka Server started";

/** Reads a broker log, treating a log that does not exist yet as empty. */
export async function readLog(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw error;
  }
}

const isStackFrame = (line: string): boolean => /^\s+(at |\.\.\. \d+ more)/.test(line);

/**
 * The lines of a broker (or StorageTool) log worth showing when it failed: ERROR/FATAL lines,
 * exception and "Caused by" lines, without stack frames. Falls back to the last lines when
 * nothing looks like an error.
 */
export function meaningfulLines(log: string, count = 8): string[] {
  const lines = log.split(/\r?\n/).filter((line) => line.trim().length > 0 && !isStackFrame(line));
  const errors = lines.filter((line) =>
    /\b(ERROR|FATAL)\b|Exception\b|Caused by:|Error:|[Ii]nvalid /.test(line),
  );
  // Without any log4j ERROR/FATAL line the JVM or a tool failed before logging started; its
  // plain output is short and every line of it matters.
  const logged = lines.some((line) => /\b(ERROR|FATAL)\b/.test(line));
  return (logged && errors.length > 0 ? errors : lines).slice(-count);
}

/**
 * The single most telling line of a failed start, for a one-line error message: the first
 * exception message after the last ERROR/FATAL line (Kafka logs "Exiting Kafka due to fatal
 * exception" and then the exception itself), else the last error-looking line.
 */
export function headlineOf(log: string): string | undefined {
  const lines = log.split(/\r?\n/).filter((line) => line.trim().length > 0);
  let lastError = -1;
  lines.forEach((line, index) => {
    if (/\b(ERROR|FATAL)\b/.test(line)) lastError = index;
  });
  const from = Math.max(lastError, 0);
  const exception = lines
    .slice(from)
    .find((line) => !isStackFrame(line) && /[A-Za-z.$]+(Exception|Error)(: |$)/.test(line));
  // No log4j error and no exception: the JVM itself failed (bad flag, no memory); its few
  // lines, e.g. "Unrecognized VM option …" then "Could not create the Java Virtual Machine", say it all.
  const chosen =
    exception ?? (lastError >= 0 ? lines[lastError] : undefined) ?? (lines.length > 0 ? lines.slice(-3).join(" | ") : undefined);
  return chosen
    ?.trim()
    .replace(/^Exception in thread "[^"]*"\s*/, "")
    .replace(/\s+/g, " ")
    .slice(0, 500);
}

/**
 * The override a broker's error is about, if any: Kafka names the offending config in its
 * ConfigException ("Invalid value abc for configuration num.partitions: …"), so a failure
 * that names one of the caller's overrides is reported as `invalid_override`.
 */
export function overrideNamedIn(log: string, overrideKeys: readonly string[]): string | undefined {
  const errors = meaningfulLines(log, 50).join("\n");
  if (!/ConfigException|Invalid value|[Ii]nvalid|not a valid|must be/.test(errors)) return undefined;
  return overrideKeys.find((key) => errors.includes(key));
}

/** True when a node died because a port it was to bind was taken (a race worth retrying). */
export function isBindFailure(log: string): boolean {
  return /Address already in use|failed to bind/i.test(log);
}
