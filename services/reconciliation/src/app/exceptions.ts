import type { ProviderId } from "@tributary/contracts";
import { err, ok, type Result } from "@tributary/result";
import type { Tx } from "./ports.js";

/** Where an exception stands: open, resolved with a note, or adjusted (a correcting entry was made). */
export type ExceptionStatus = "open" | "resolved" | "adjusted";

/** One row of the exceptions queue. */
export interface ReconException {
  readonly exceptionId: string;
  readonly provider: ProviderId;
  readonly billDate: string;
  readonly runId: string;
  readonly matchClass: string;
  readonly itemKey: string;
  readonly billLocations: string;
  readonly billAmountMinor: bigint | undefined;
  readonly ledgerAmountMinor: bigint | undefined;
  readonly currency: string;
  readonly description: string;
  readonly status: ExceptionStatus;
  readonly note: string | undefined;
  readonly resolvedBy: string | undefined;
  readonly resolvedAt: Date | undefined;
  readonly createdAt: Date;
}

/** The queue's storage (`createPgExceptionQueue`). */
export interface ExceptionQueue {
  list(tx: Tx, filter: ExceptionFilter): Promise<ReconException[]>;
  /** Closes the exception if it is open; undefined when it is not (or does not exist). */
  closeIfOpen(tx: Tx, close: { exceptionId: string; status: Exclude<ExceptionStatus, "open">; note: string; by: string; at: Date }): Promise<ReconException | undefined>;
  statusOf(tx: Tx, exceptionId: string): Promise<ExceptionStatus | undefined>;
  /** The provider an exception belongs to, locking its row for the rest of the transaction; undefined when there is none. */
  providerOf(tx: Tx, exceptionId: string): Promise<ProviderId | undefined>;
}

/** Which exceptions to list. */
export interface ExceptionFilter {
  readonly provider?: ProviderId;
  readonly billDate?: string;
  readonly status?: ExceptionStatus;
}

/** Lists the exceptions queue, newest day first, filtered by provider, day and status. */
export function listExceptions(queue: ExceptionQueue, tx: Tx, filter: ExceptionFilter): Promise<ReconException[]> {
  return queue.list(tx, filter);
}

/** Why an exception could not be closed. */
export type ResolveExceptionError =
  | { readonly code: "exception_not_found"; readonly message: string }
  | { readonly code: "exception_not_open"; readonly message: string }
  | { readonly code: "note_required"; readonly message: string };

/**
 * Closes an open exception as `resolved` (explained, nothing to post) or `adjusted` (a correcting
 * entry was made), saying who and why; the time is the clock's. A closed one stays closed. With
 * `mayActFor` (the gRPC API: a token bound to providers) an exception of a provider the caller
 * does not act for is `exception_not_found`, exactly like one that does not exist.
 */
export async function resolveException(
  queue: ExceptionQueue,
  tx: Tx,
  input: {
    readonly exceptionId: string;
    readonly status: Exclude<ExceptionStatus, "open">;
    readonly note: string;
    readonly by: string;
    readonly at: Date;
    readonly mayActFor?: (provider: ProviderId) => boolean;
  },
): Promise<Result<ReconException, ResolveExceptionError>> {
  if (input.note.trim() === "" || input.by.trim() === "") return err({ code: "note_required", message: "a note and who resolves it are required" });
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(input.exceptionId)) return err({ code: "exception_not_found", message: `no exception ${input.exceptionId}` });
  if (input.mayActFor !== undefined) {
    const provider = await queue.providerOf(tx, input.exceptionId);
    if (provider === undefined || !input.mayActFor(provider)) return err({ code: "exception_not_found", message: `no exception ${input.exceptionId}` });
  }
  const closed = await queue.closeIfOpen(tx, input);
  if (closed !== undefined) return ok(closed);
  const status = await queue.statusOf(tx, input.exceptionId);
  return status === undefined
    ? err({ code: "exception_not_found", message: `no exception ${input.exceptionId}` })
    : err({ code: "exception_not_open", message: `exception ${input.exceptionId} is already ${status}` });
}
