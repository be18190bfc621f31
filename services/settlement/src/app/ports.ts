import type { FeeTerms } from "../domain/fee-terms.js";

/** What the use cases need besides the transaction: contract data, ids and the clock. */
export interface SettlementDeps {
  readonly terms: FeeTerms;
  /** Entry and batch ids (UUIDv7 unless told). */
  readonly newId: () => string;
  readonly clock: () => Date;
}
