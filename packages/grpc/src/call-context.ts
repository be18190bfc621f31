import type { Metadata, ServerUnaryCall, ServerWritableStream } from "@grpc/grpc-js";
import type { PrincipalStore } from "./auth-interceptor.js";
import { Code } from "./code.js";
import { RpcError } from "./rpc-error.js";
import type { Principal } from "./principal.js";

/**
 * What a handler knows about the call besides its request. `signal` aborts when the
 * client cancels or the deadline passes, so handlers pass it to every I/O they start
 * and stop work nobody is waiting for; its `reason` is an {@link RpcError} saying which.
 */
export interface CallContext {
  /** The full method path, `/package.Service/Method`. */
  readonly method: string;
  /** When the client stops waiting; `undefined` when it set no deadline. */
  readonly deadline: Date | undefined;
  readonly signal: AbortSignal;
  /** The request metadata, without the `authorization` header. */
  readonly metadata: Metadata;
  /**
   * The authenticated caller: id, scopes and the tenants it may act for (check what a call
   * touches with `mayActFor`); `undefined` only on a method declared public.
   */
  readonly principal: Principal | undefined;
}

type ServerCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

function deadlineOf(call: ServerCall): Date | undefined {
  const deadline = call.getDeadline();
  if (deadline instanceof Date) {
    return deadline;
  }
  return Number.isFinite(deadline) ? new Date(deadline) : undefined;
}

/**
 * Builds the {@link CallContext} of one call, and a `release` the adapter calls before it
 * sends the final status: grpc-js also reports a normally finished call as "cancelled",
 * and that must not abort the signal. Internal to the package.
 */
export function createCallContext(
  call: ServerCall,
  principals: PrincipalStore,
): { context: CallContext; release: () => void } {
  const controller = new AbortController();
  const deadline = deadlineOf(call);
  const onCancelled = (): void => {
    const expired = deadline !== undefined && Date.now() >= deadline.getTime();
    controller.abort(
      expired
        ? new RpcError("deadline exceeded", Code.DeadlineExceeded)
        : new RpcError("cancelled by the client", Code.Cancelled),
    );
  };
  if (call.cancelled) {
    onCancelled();
  } else {
    call.once("cancelled", onCancelled);
  }
  const metadata = call.metadata.clone();
  metadata.remove("authorization");
  const context: CallContext = {
    method: call.getPath(),
    deadline,
    signal: controller.signal,
    metadata,
    principal: principals.get(call.metadata),
  };
  return { context, release: () => call.removeListener("cancelled", onCancelled) };
}
