/**
 * The gRPC status codes by name, with the same numbers as the wire (and as
 * `@grpc/grpc-js`'s `status`). It exists so that error mappings and callers read
 * `Code.InvalidArgument` rather than a bare `3`, in the style of connect-es's `Code`.
 * `Ok` is left out on purpose: nothing in this package may map a failure to it.
 */
export enum Code {
  Cancelled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

/** Narrows a wire status number to a {@link Code}; anything unrecognised (or 0) is `Unknown`. */
export function codeFromWire(status: number): Code {
  const known: readonly number[] = Object.values(Code).filter((value) => typeof value === "number");
  return status !== 0 && known.includes(status) ? (status) : Code.Unknown;
}
