/**
 * Expected outcomes are values, not exceptions (TigerBeetle, connect-es): a function that can
 * fail in a way the caller must handle returns `Result<T, E>`, and `E` is a union keyed by a
 * snake_case `code`. Broken invariants still throw.
 */
export type Result<T, E extends { readonly code: string }> = Ok<T> | Err<E>;

/** The success branch of a {@link Result}. */
export interface Ok<T> {
  readonly ok: true;
  readonly value: T;
}

/** The failure branch of a {@link Result}; `error.code` names what went wrong. */
export interface Err<E extends { readonly code: string }> {
  readonly ok: false;
  readonly error: E;
}

/** Wraps a successful value. */
export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

/** Wraps an expected failure. */
export function err<E extends { readonly code: string }>(error: E): Err<E> {
  return { ok: false, error };
}

/**
 * Returns the value of a result the caller has proven successful, and crashes otherwise:
 * for tests and for places where a failure would be a bug, never for operating errors.
 */
export function unwrap<T, E extends { readonly code: string }>(result: Result<T, E>): T {
  if (!result.ok) {
    throw new Error(`unwrap on an error result: ${result.error.code}`);
  }
  return result.value;
}

/**
 * Marks a `switch` as exhaustive: the compiler rejects the call when a case is missing, and
 * reaching it at run time is a bug.
 */
export function assertNever(value: never, what = "value"): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
