/**
 * The one thing the adapter logs: a handler failure it turned into INTERNAL, whose
 * detail (stack included) must reach operators but never the caller. Structural, so the
 * telemetry package's logger (or `console`) can be passed in as it is.
 */
export interface RpcLogger {
  error(message: string, fields: Readonly<Record<string, unknown>>): void;
}

/** Writes one JSON line to stderr; the default until a real logger is passed in. */
export const consoleLogger: RpcLogger = {
  error(message, fields) {
    const error = fields["error"];
    const detail = error instanceof Error ? { error: error.message, stack: error.stack } : {};
    process.stderr.write(`${JSON.stringify({ level: "error", message, ...fields, ...detail })}\n`);
  },
};
