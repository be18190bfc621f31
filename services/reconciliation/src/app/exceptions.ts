import type { ProviderId } from "@tributary/contracts";
import { err, ok, type Result } from "@tributary/result";
import type { Tx } from "./ports.js";

/** Where an exception stands: open, resolved with a note, or adjusted (a correcting entry was made). */
export type ExceptionStatus = "open" | "resolved" | "adjusted";

/** A correction approved when an exception is closed as adjusted; settlement posts it through suspense. */
export interface ApprovedAdjustment {
  readonly merchantId: string;
  /** Signed from the merchant's side (positive credits it), in the exception's currency; not zero. */
  readonly amountMinor: bigint;
}

/** An adjustment as the resolver writes it: the amount's currency must be the exception's. */
export interface AdjustmentToApprove extends ApprovedAdjustment {
  readonly currency: string;
}

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
  /** Set on an exception closed as adjusted (since the adjustment columns exist). */
  readonly adjustment: ApprovedAdjustment | undefined;
}

/** The queue's storage (`createPgExceptionQueue`). */
export interface ExceptionQueue {
  list(tx: Tx, filter: ExceptionFilter): Promise<ReconException[]>;
  /** Closes the exception if it is open; undefined when it is not (or does not exist). */
  closeIfOpen(
    tx: Tx,
    close: { exceptionId: string; status: Exclude<ExceptionStatus, "open">; note: string; by: string; at: Date; adjustment: ApprovedAdjustment | undefined },
  ): Promise<ReconException | undefined>;
  statusOf(tx: Tx, exceptionId: string): Promise<ExceptionStatus | undefined>;
  /** The currency of an exception, if it exists. */
  currencyOf(tx: Tx, exceptionId: string): Promise<string | undefined>;
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
  | { readonly code: "note_required"; readonly message: string }
  | { readonly code: "adjustment_invalid"; readonly message: string; readonly field: string };

/** What a resolution publishes: `ExceptionResolved` in the resolving transaction (`createReconOutbox`). */
export interface ResolutionOutbox {
  appendExceptionResolved(tx: Tx, exception: ReconException): Promise<void>;
}

function adjustmentProblem(status: Exclude<ExceptionStatus, "open">, adjustment: AdjustmentToApprove | undefined): ResolveExceptionError | undefined {
  const invalid = (field: string, message: string): ResolveExceptionError => ({ code: "adjustment_invalid", field, message });
  if (status === "resolved") return adjustment === undefined ? undefined : invalid("adjustment", "a resolved exception posts nothing; close it as adjusted to post an adjustment");
  if (adjustment === undefined) return invalid("adjustment", "an adjusted exception needs the approved adjustment (merchant and amount)");
  if (adjustment.merchantId.trim() === "") return invalid("adjustment.merchant_id", "the merchant to adjust is required");
  if (adjustment.amountMinor === 0n) return invalid("adjustment.amount", "an adjustment of zero changes nothing");
  if (!/^[A-Z]{3}$/.test(adjustment.currency)) return invalid("adjustment.amount.currency", `must be a currency code, got ${JSON.stringify(adjustment.currency)}`);
  return undefined;
}

/**
 * Closes an open exception as `resolved` (explained, nothing to post) or `adjusted` (with the
 * correction finance approved: a merchant and a signed amount in the exception's currency),
 * saying who and why; the time is the clock's. `ExceptionResolved` goes to the outbox in the same
 * transaction, so settlement posts an approved adjustment exactly once, with the note as its reason
 * and the resolver as its approver. A closed one stays closed. With `mayActFor` (the gRPC API: a
 * token bound to providers) an exception of a provider the caller does not act for is
 * `exception_not_found`, exactly like one that does not exist.
 */
export async function resolveException(
  queue: ExceptionQueue,
  outbox: ResolutionOutbox,
  tx: Tx,
  input: {
    readonly exceptionId: string;
    readonly status: Exclude<ExceptionStatus, "open">;
    readonly note: string;
    readonly by: string;
    readonly at: Date;
    readonly adjustment?: AdjustmentToApprove;
    readonly mayActFor?: (provider: ProviderId) => boolean;
  },
): Promise<Result<ReconException, ResolveExceptionError>> {
  if (input.note.trim() === "" || input.by.trim() === "") return err({ code: "note_required", message: "a note and who resolves it are required" });
  const problem = adjustmentProblem(input.status, input.adjustment);
  if (problem !== undefined) return err(problem);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(input.exceptionId)) return err({ code: "exception_not_found", message: `no exception ${input.exceptionId}` });
  if (input.mayActFor !== undefined) {
    const provider = await queue.providerOf(tx, input.exceptionId);
    if (provider === undefined || !input.mayActFor(provider)) return err({ code: "exception_not_found", message: `no exception ${input.exceptionId}` });
  }
  const adjustment = input.adjustment;
  if (adjustment !== undefined) {
    const currency = await queue.currencyOf(tx, input.exceptionId);
    if (currency !== undefined && currency !== adjustment.currency) {
      return err({ code: "adjustment_invalid", field: "adjustment.amount.currency", message: `must be the exception's currency ${currency}, got ${adjustment.currency}` });
    }
  }
  const closed = await queue.closeIfOpen(tx, {
    ...input,
    adjustment: adjustment === undefined ? undefined : { merchantId: adjustment.merchantId.trim(), amountMinor: adjustment.amountMinor },
  });
  if (closed !== undefined) {
    await outbox.appendExceptionResolved(tx, closed);
    return ok(closed);
  }
  const status = await queue.statusOf(tx, input.exceptionId);
  return status === undefined
    ? err({ code: "exception_not_found", message: `no exception ${input.exceptionId}` })
    : err({ code: "exception_not_open", message: `exception ${input.exceptionId} is already ${status}` });
}
