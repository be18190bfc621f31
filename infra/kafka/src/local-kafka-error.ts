/**
 * Every way the local Kafka launcher can fail, as a snake_case code. Callers (the testkit, the
 * CLI) switch on the code; the message is one line that says what to do.
 */
export type LocalKafkaErrorCode =
  | "java_not_found"
  | "java_too_old"
  | "maven_not_found"
  | "jar_download_failed"
  | "unsupported_version"
  | "port_in_use"
  | "invalid_override"
  | "format_failed"
  | "broker_exited"
  | "start_timeout"
  | "unknown_node";

/**
 * The one error type the launcher throws. Starting a JVM is an edge (processes, files, ports),
 * so failures surface as a thrown error with a `code` rather than a Result; `details` carries
 * the multi-line evidence (mvn output tail, broker log tail) that does not fit the one-line
 * message.
 */
export class LocalKafkaError extends Error {
  override readonly name = "LocalKafkaError";
  readonly code: LocalKafkaErrorCode;
  readonly details: string | undefined;

  constructor(code: LocalKafkaErrorCode, message: string, details?: string) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

/** Lets callers narrow an unknown rejection to a launcher error with one check. */
export function isLocalKafkaError(error: unknown): error is LocalKafkaError {
  return error instanceof LocalKafkaError;
}
