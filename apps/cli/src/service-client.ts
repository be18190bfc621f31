import type { DescService } from "@bufbuild/protobuf";
import { closeClient, Code, createClient, RpcError, type RpcClient } from "@tributary/grpc";
import { CliError, serviceEndpoint } from "./cli-context.js";

/** `--address` / `--token` of every command that calls a service's gRPC API. */
export interface EndpointOptions {
  address?: string;
  token?: string;
}

/**
 * Calls `service` at the endpoint the flags, the environment or the running stack name
 * ({@link serviceEndpoint}), with the operator's token, and closes the client after `work`. A
 * failed call becomes one line naming the service, with the exit code its status deserves:
 * INVALID_ARGUMENT is a usage error (2), NOT_FOUND nothing to act on (3), anything else failed (1).
 */
export async function withServiceClient<S extends DescService, T>(
  service: string,
  descriptor: S,
  options: EndpointOptions,
  work: (client: RpcClient<S>) => Promise<T>,
  deadlineMs = 30_000,
): Promise<T> {
  const endpoint = serviceEndpoint(service, options);
  const client = createClient(descriptor, endpoint.address, { bearerToken: endpoint.token, defaultDeadlineMs: deadlineMs });
  try {
    return await work(client);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw rpcFailure(service, endpoint.address, error);
  } finally {
    closeClient(client);
  }
}

/** A failed call as a CliError: the server's message (with the fields it refused) and an exit code by status. */
export function rpcFailure(service: string, address: string, error: unknown): CliError {
  if (!(error instanceof RpcError)) return new CliError(`${service} at ${address}: ${error instanceof Error ? error.message : String(error)}`, 1);
  const fields = error.fieldViolations.length === 0 ? "" : ` (${error.fieldViolations.map((v) => `${v.field}: ${v.description}`).join("; ")})`;
  switch (error.code) {
    case Code.InvalidArgument:
      return new CliError(`${service} refused the request: ${error.message}${fields}`, 2);
    case Code.NotFound:
      return new CliError(`${service}: ${error.message}`, 3);
    case Code.Unavailable:
      return new CliError(`${service} at ${address} does not answer (${error.message}); is the stack up? (tributary stack status)`, 1);
    case Code.FailedPrecondition:
    case Code.AlreadyExists:
    case Code.PermissionDenied:
    case Code.Unauthenticated:
    case Code.DeadlineExceeded:
    case Code.Cancelled:
    case Code.Aborted:
    case Code.OutOfRange:
    case Code.ResourceExhausted:
    case Code.Unimplemented:
    case Code.Internal:
    case Code.DataLoss:
    case Code.Unknown:
      return new CliError(`${service} at ${address}: ${Code[error.code]}: ${error.message}${fields}`, 1);
  }
}
