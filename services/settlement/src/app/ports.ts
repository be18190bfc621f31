import type { FeeTerms } from "../domain/fee-terms.js";
import type { EntryDraft } from "../domain/journal-entry.js";

/** What the use cases need besides the transaction: contract data, ids and the clock. */
export interface SettlementDeps {
  readonly terms: FeeTerms;
  /** Entry and batch ids (UUIDv7 unless told). */
  readonly newId: () => string;
  readonly clock: () => Date;
  /** Counts the entries written; none counted unless told (tools, tests that drive the ledger directly). */
  readonly ledgerMetrics?: LedgerMetrics;
}

/** What the ledger's writers report; the composition root backs it with an OpenTelemetry counter. */
export interface LedgerMetrics {
  /**
   * `entries` were just written in the caller's transaction, before its COMMIT: a transaction
   * that rolls back afterwards (the commit-time balance check, a consumer batch retried) has been
   * counted, and its retry counts again. Entries skipped as already posted are not passed.
   */
  entriesWritten(entries: readonly EntryDraft[]): void;
}

/** Tells `deps.ledgerMetrics` which of `entries` `writeEntries` wrote (`written`: their ids). */
export function countWritten(deps: SettlementDeps, entries: readonly EntryDraft[], written: ReadonlySet<string>): void {
  if (deps.ledgerMetrics === undefined || written.size === 0) return;
  deps.ledgerMetrics.entriesWritten(entries.filter((entry) => written.has(entry.entryId)));
}
