import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack, anyUnpack } from "@bufbuild/protobuf/wkt";
import { Metadata } from "@grpc/grpc-js";
import { BadRequestSchema, ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "./gen/google/rpc/status_pb.js";
import type { Code } from "./code.js";
import type { RpcErrorDetails } from "./rpc-error.js";

/** The trailer gRPC reserves for a serialized `google.rpc.Status` (the "richer error model"). */
const STATUS_DETAILS_KEY = "grpc-status-details-bin";

/** The `ErrorInfo.domain` Tributary stamps on the domain errors it sends. */
const ERROR_DOMAIN = "tributary";

/**
 * Builds the trailers of a failed call: a `google.rpc.Status` holding an `ErrorInfo`
 * (the domain code) and, when there are field violations, a `google.rpc.BadRequest`.
 * Internal to the package; the server adapter is its only caller.
 */
export function statusDetailsTrailer(code: Code, message: string, details: RpcErrorDetails): Metadata {
  const packed = [];
  if (details.reason !== undefined) {
    packed.push(anyPack(ErrorInfoSchema, create(ErrorInfoSchema, { reason: details.reason, domain: ERROR_DOMAIN })));
  }
  const violations = details.fieldViolations ?? [];
  if (violations.length > 0) {
    const badRequest = create(BadRequestSchema, {
      fieldViolations: violations.map((v) => ({ field: v.field, description: v.description })),
    });
    packed.push(anyPack(BadRequestSchema, badRequest));
  }
  const trailer = new Metadata();
  const status = create(StatusSchema, { code, message, details: packed });
  trailer.set(STATUS_DETAILS_KEY, Buffer.from(toBinary(StatusSchema, status)));
  return trailer;
}

/**
 * Reads the field violations and domain reason back out of a failed call's trailers.
 * A missing or undecodable trailer yields no details rather than a second error: the
 * status code alone is still a complete answer.
 */
export function decodeStatusDetails(trailers: Metadata | undefined): RpcErrorDetails {
  const raw = trailers?.get(STATUS_DETAILS_KEY)[0];
  if (!(raw instanceof Buffer)) {
    return {};
  }
  let status;
  try {
    status = fromBinary(StatusSchema, raw);
  } catch {
    return {};
  }
  let reason: string | undefined;
  const fieldViolations: { field: string; description: string }[] = [];
  for (const detail of status.details) {
    const info = anyUnpack(detail, ErrorInfoSchema);
    if (info !== undefined && reason === undefined) {
      reason = info.reason;
    }
    const badRequest = anyUnpack(detail, BadRequestSchema);
    for (const v of badRequest?.fieldViolations ?? []) {
      fieldViolations.push({ field: v.field, description: v.description });
    }
  }
  return reason === undefined ? { fieldViolations } : { fieldViolations, reason };
}
