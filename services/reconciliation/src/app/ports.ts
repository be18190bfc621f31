import type { ProviderId } from "@tributary/contracts";
import type { PoolClient } from "pg";
import type { LedgerRecord } from "../domain/ledger-record.js";
import type { CarriedItem, MatchClass, MatchConfig, MatchItem } from "../domain/match.js";
import type { ResolutionOutbox } from "./exceptions.js";

/** A database transaction: the use cases write everything of one run in one. */
export type Tx = PoolClient;

/**
 * Our side of the match: the records settlement posted for one provider's business day, streamed.
 * The settlement service implements it over gRPC (not wired yet); `createPgLedgerRecords` reads a
 * table of this service's database that tests, or a feed, fill.
 */
export interface LedgerRecordsSource {
  recordsFor(provider: ProviderId, businessDate: string): AsyncIterable<LedgerRecord>;
}

/** A bill file as kept: the provider's bytes and their digests. */
export interface StoredBillFile {
  readonly provider: ProviderId;
  readonly billDate: string;
  readonly fileName: string;
  readonly sha256: string;
  readonly providerDigest: { readonly algorithm: string; readonly hex: string } | undefined;
  readonly bytes: Buffer;
  readonly fetchedAt: Date;
}

/** The current run of a day, as a corrected bill sees it. */
export interface CurrentRun {
  readonly runId: string;
  readonly sha256: string;
  readonly billRowCount: number;
  readonly billNetMinor: bigint;
}

/** Count and amounts of one class in a run. */
export interface ClassTotal {
  readonly count: number;
  readonly billAmountMinor: bigint;
  readonly ledgerAmountMinor: bigint;
}

/** A finished run as stored. */
export interface CompletedRun {
  readonly runId: string;
  readonly provider: ProviderId;
  readonly billDate: string;
  readonly billFileId: string;
  readonly supersedesRunId: string | undefined;
  readonly billRowCount: number;
  readonly ledgerRecordCount: number;
  readonly matchedCount: number;
  readonly discrepancyCount: number;
  readonly currency: string;
  readonly billNetMinor: bigint;
  readonly ledgerNetMinor: bigint;
  readonly totals: Readonly<Record<MatchClass, ClassTotal>>;
  readonly carryForward: readonly CarriedItem[];
  readonly startedAt: Date;
  readonly completedAt: Date;
}

/** A new exception to queue (or an existing one seen again). */
export interface ExceptionCandidate {
  readonly exceptionId: string;
  readonly item: MatchItem;
}

/** Where runs, items, exceptions and kept files live (`createPgReconStore`). */
export interface ReconStore {
  /** Serialises runs of one provider and day until the transaction ends. */
  lockDay(tx: Tx, provider: ProviderId, billDate: string): Promise<void>;
  /** A run over the file with this SHA-256 for that day, if any (completed, superseded or rejected). */
  runOfFile(tx: Tx, provider: ProviderId, billDate: string, sha256: string): Promise<{ runId: string; status: string } | undefined>;
  /** Keeps the file (once per provider, day and SHA-256) and returns its id. */
  keepBillFile(tx: Tx, billFileId: string, file: StoredBillFile): Promise<string>;
  recordRejectedRun(tx: Tx, run: { runId: string; provider: ProviderId; billDate: string; billFileId: string; rejection: string; startedAt: Date; completedAt: Date }): Promise<void>;
  /** What the latest completed run of an earlier day carried forward. */
  carriedInto(tx: Tx, provider: ProviderId, billDate: string): Promise<CarriedItem[]>;
  currentRun(tx: Tx, provider: ProviderId, billDate: string): Promise<CurrentRun | undefined>;
  markSuperseded(tx: Tx, runId: string): Promise<void>;
  insertRun(tx: Tx, run: CompletedRun): Promise<void>;
  insertItems(tx: Tx, runId: string, items: readonly MatchItem[]): Promise<void>;
  /**
   * Queues the run's exceptions; one already queued for the same day, class and key stays as it
   * is (an open one now points at this run). Returns the `class␟key` of those queued now.
   */
  queueExceptions(tx: Tx, run: { provider: ProviderId; billDate: string; runId: string; currency: string; at: Date }, exceptions: readonly ExceptionCandidate[]): Promise<ReadonlySet<string>>;
  /** Resolves the day's open exceptions whose `class␟key` is not in `keep`; returns them as `class:key`. */
  clearExceptionsNotIn(tx: Tx, provider: ProviderId, billDate: string, keep: readonly string[], note: string, at: Date): Promise<string[]>;
  recordDifference(tx: Tx, runId: string, difference: unknown): Promise<void>;
  countOpenExceptions(tx: Tx, provider: ProviderId, billDate: string): Promise<number>;
}

/** One new exception as `DiscrepancyFound` carries it. */
export interface DiscrepancyNotice {
  readonly runId: string;
  /** The queue row it raised. */
  readonly exceptionId: string;
  readonly matchClass: Exclude<MatchClass, "matched">;
  readonly providerTransactionId: string;
  readonly billAmountMinor: bigint | undefined;
  readonly ledgerAmountMinor: bigint | undefined;
  readonly currency: string;
  readonly billLocation: string;
  readonly description: string;
}

/** One finished run as `ReconciliationCompleted` carries it. */
export interface RunNotice {
  readonly runId: string;
  readonly billRowCount: bigint;
  readonly ledgerRecordCount: bigint;
  readonly matchedCount: bigint;
  readonly discrepancyCount: bigint;
  readonly currency: string;
  readonly billNetMinor: bigint;
  readonly ledgerNetMinor: bigint;
  readonly completedAtMs: number;
  /** Items, bill amount and our amount per class, every class. */
  readonly totals: Readonly<Record<MatchClass, ClassTotal>>;
}

/** Where a run's events (and resolutions) go: the outbox, in the run's (or the resolution's) transaction. */
export interface ReconOutbox extends ResolutionOutbox {
  appendRunEvents(tx: Tx, provider: ProviderId, billDate: string, run: RunNotice, discrepancies: readonly DiscrepancyNotice[]): Promise<void>;
}

/** What the use cases need besides a transaction. */
export interface ReconDeps {
  readonly ledger: LedgerRecordsSource;
  readonly store: ReconStore;
  readonly outbox: ReconOutbox;
  readonly matchConfig: MatchConfig;
  readonly clock: () => Date;
  readonly newId: () => string;
}

/**
 * An exception's identity within a day: its class and item key joined by chr(31), the unit
 * separator, which no class name or key contains (Postgres text cannot hold NUL).
 */
export function exceptionKey(matchClass: string, itemKey: string): string {
  return `${matchClass}\u001f${itemKey}`;
}
