import type { ProviderId } from "@tributary/contracts";
import type { PoolClient } from "pg";
import type { LedgerRecord } from "../domain/ledger-record.js";
import type { MatchConfig } from "../domain/match.js";

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

/** What the use cases need besides a transaction. */
export interface ReconDeps {
  readonly ledger: LedgerRecordsSource;
  readonly matchConfig: MatchConfig;
  readonly clock: () => Date;
  readonly newId: () => string;
}
