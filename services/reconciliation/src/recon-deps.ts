import type { Pool } from "pg";
import { v7 as uuidv7 } from "uuid";
import { createPgLedgerRecords } from "./adapters/db/pg-ledger-records.js";
import { createPgReconStore } from "./adapters/db/pg-recon-store.js";
import { createReconOutbox } from "./adapters/kafka/recon-outbox.js";
import type { LedgerRecordsSource, ReconDeps } from "./app/ports.js";
import { DEFAULT_MATCH_CONFIG, type MatchConfig } from "./domain/match.js";

/**
 * The use cases' dependencies on this service's Postgres and outbox, shared by the worker, the
 * CLI and the tests: our side of the match from `ledger_records` unless another source is given,
 * the default tolerances with any overrides, the wall clock and UUIDv7 ids unless told.
 */
export function pgReconDeps(options: {
  readonly pool: Pool;
  readonly ledger?: LedgerRecordsSource;
  readonly matchConfig?: Partial<MatchConfig>;
  readonly clock?: () => Date;
}): ReconDeps {
  return {
    ledger: options.ledger ?? createPgLedgerRecords(options.pool),
    store: createPgReconStore(),
    outbox: createReconOutbox(),
    matchConfig: { ...DEFAULT_MATCH_CONFIG, ...options.matchConfig },
    clock: options.clock ?? (() => new Date()),
    newId: () => uuidv7(),
  };
}
