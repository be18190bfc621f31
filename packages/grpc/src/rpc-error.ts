import type { Code } from "./code.js";

/** One bad field of a request: the path to it and a human-readable reason (google.rpc.BadRequest). */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

/** What an {@link RpcError} carries besides its code and message. */
export interface RpcErrorDetails {
  /** Fields the server rejected, decoded from the `google.rpc.BadRequest` detail. */
  readonly fieldViolations?: readonly FieldViolation[];
  /** The domain error code (`google.rpc.ErrorInfo.reason`), e.g. `insufficient_funds`. */
  readonly reason?: string;
}

/**
 * The one error type a client sees at the edge (connect-es's `ConnectError`): every failed
 * call — a status from the server, a deadline, a cancel — surfaces as an `RpcError` with a
 * {@link Code}, so callers switch on `code` and never on transport-specific error shapes.
 */
export class RpcError extends Error {
  override readonly name = "RpcError";
  readonly code: Code;
  readonly fieldViolations: readonly FieldViolation[];
  readonly reason: string | undefined;

  constructor(message: string, code: Code, details: RpcErrorDetails = {}) {
    super(message);
    this.code = code;
    this.fieldViolations = details.fieldViolations ?? [];
    this.reason = details.reason;
  }
}
