import { metrics, type Meter, type ObservableResult } from "@opentelemetry/api";
import { assertNever } from "@tributary/result";
import { startBackgroundPoll } from "@tributary/service-kit";
import type { Logger } from "@tributary/telemetry";
import type { Pool } from "pg";
import type { LedgerMetrics } from "./app/ports.js";
import type { EntryType } from "./domain/journal-entry.js";

/** What the settlement metrics read. */
export interface SettlementMetricsOptions {
  readonly pool: Pool;
  readonly logger: Logger;
  /** Between reads of the ledger's imbalance; 10 s unless told. A scrape never reads the database. */
  readonly refreshIntervalMs?: number;
  /** `@tributary/settlement` on the global meter provider unless told. */
  readonly meter?: Meter;
}

/** The running settlement instruments. */
export interface SettlementMetrics {
  /** Backs the use cases' {@link LedgerMetrics} port (`settlement.postings`). */
  readonly ledger: LedgerMetrics;
  /** Reads the imbalance now and resolves when the gauge holds it (tests, operators). */
  refreshNow(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The sum of every ledger posting per currency, posted and pending, without a full scan:
 * - each account's latest checkpoint line (the primary key `(account_id, checkpoint_id)`, one
 *   index probe per account);
 * - plus the posted postings the **latest** checkpoint's snapshot did not see (the `tx_id` index,
 *   at most about one checkpoint interval of postings). An account whose latest line is older had
 *   no posting between that checkpoint and the latest, so the latest snapshot's "since" is its own
 *   (README, "No hot rows");
 * - plus every pending posting (the partial index `ledger_posting_pending_idx`, index-only):
 *   checkpoints cover posted postings only. These are the refund reservations, a small share.
 * One statement, so one snapshot. Every account's currency appears, with 0 when it sums to 0.
 */
const imbalanceQuery = `
WITH c AS (SELECT snapshot_xmin, snapshot_xmax, snapshot_xip FROM balance_checkpoint ORDER BY checkpoint_id DESC LIMIT 1),
     parts AS (
       SELECT a.currency, COALESCE(l.balance_minor, 0) AS amount_minor
         FROM ledger_account a
         LEFT JOIN LATERAL (SELECT balance_minor FROM balance_checkpoint_line
                             WHERE account_id = a.account_id ORDER BY checkpoint_id DESC LIMIT 1) l ON true
       UNION ALL
       SELECT p.currency, p.amount_minor FROM ledger_posting p, c
        WHERE NOT p.pending AND p.tx_id >= c.snapshot_xmin
          AND (p.tx_id >= c.snapshot_xmax OR p.tx_id = ANY (c.snapshot_xip))
       UNION ALL
       SELECT a.currency, pend.amount_minor
         FROM (SELECT account_id, sum(amount_minor) AS amount_minor FROM ledger_posting WHERE pending GROUP BY account_id) pend
         JOIN ledger_account a ON a.account_id = pend.account_id)
SELECT currency, sum(amount_minor)::text AS imbalance_minor FROM parts GROUP BY currency ORDER BY currency`;

/** Longest `stop()` waits for a read in flight. */
const stopWaitMs = 2_000;

/** The `kind` label of an entry type: what an operator calls the posting. */
function kindOf(type: EntryType): string {
  switch (type) {
    case "payment_captured":
      return "capture";
    case "refund_posted":
      return "refund";
    case "refund_reserved":
      return "refund_reservation";
    case "adjustment":
      return "adjustment";
    case "payout":
      return "payout";
    case "reserve_withheld":
      return "reserve_withheld";
    case "reserve_released":
      return "reserve_released";
    default:
      return assertNever(type, "entry type");
  }
}

/**
 * Settlement's instruments on the global meter provider (so on the health port's `/metrics`),
 * made when the service starts (a meter taken before telemetry started could stay a no-op):
 * - `settlement.postings` {entry} by `kind` (`capture`, `refund`, `refund_reservation`,
 *   `adjustment`, `payout`, `reserve_withheld`, `reserve_released`): journal entries written,
 *   counted in the writing transaction before its COMMIT (see {@link LedgerMetrics}); an entry
 *   whose cause was already posted is not counted;
 * - `settlement.ledger.imbalance` (minor units) by `currency`: the sum of every posting, posted
 *   and pending — **must read 0**; entries are balanced by the database at COMMIT, so anything else
 *   means the ledger's invariant broke. Read every `refreshIntervalMs` (10 s) in the background,
 *   from the checkpoints plus recent postings ({@link imbalanceQuery}), never during a scrape;
 * - `settlement.ledger.imbalance.read.age` (s): time since the imbalance was last read. A failed
 *   read keeps the last value on the endpoint (the SDK goes on exporting it), so an age growing
 *   past a few intervals says the 0 is stale — a check whose data is missing must not pass.
 */
export function startSettlementMetrics(options: SettlementMetricsOptions): SettlementMetrics {
  const meter = options.meter ?? metrics.getMeter("@tributary/settlement");
  const refreshIntervalMs = options.refreshIntervalMs ?? 10_000;
  const postings = meter.createCounter("settlement.postings", {
    description: "Journal entries written to the ledger, by kind (capture, refund, refund_reservation, adjustment, payout, reserve_withheld, reserve_released).",
    unit: "{entry}",
  });
  const imbalance = meter.createObservableGauge("settlement.ledger.imbalance", {
    description: "Sum of all ledger postings (posted and pending) per currency, in minor units; must be 0.",
    unit: "{minor_unit}",
  });
  const readAge = meter.createObservableGauge("settlement.ledger.imbalance.read.age", {
    description: "Time since settlement.ledger.imbalance was last read from the database; growing means it is stale.",
    unit: "s",
  });

  const startedAt = performance.now();
  let readAt: number | undefined;
  let sums: readonly { readonly currency: string; readonly imbalanceMinor: bigint }[] = [];
  let failing = false;

  const observeImbalance = (result: ObservableResult): void => {
    // Minor units as a double: exact up to 2^53, and any value other than 0 is the alarm.
    for (const { currency, imbalanceMinor } of sums) result.observe(Number(imbalanceMinor), { currency });
  };
  const observeAge = (result: ObservableResult): void => {
    result.observe((performance.now() - (readAt ?? startedAt)) / 1_000);
  };
  imbalance.addCallback(observeImbalance);
  readAge.addCallback(observeAge);

  const background = startBackgroundPoll(async () => {
    try {
      const { rows } = await options.pool.query<{ currency: string; imbalance_minor: string }>(imbalanceQuery);
      sums = rows.map((row) => ({ currency: row.currency.trim(), imbalanceMinor: BigInt(row.imbalance_minor) }));
      readAt = performance.now();
      if (failing) options.logger.info("settlement: ledger imbalance read again");
      failing = false;
      const broken = sums.filter((s) => s.imbalanceMinor !== 0n);
      if (broken.length > 0) options.logger.error({ imbalance: broken.map((s) => `${s.imbalanceMinor} ${s.currency}`) }, "settlement: the ledger's postings do not sum to 0");
    } catch (error) {
      if (background.stopped()) return;
      if (!failing) options.logger.warn({ err: error }, "settlement: cannot read the ledger imbalance for metrics; its read age grows until it reads again");
      failing = true;
    }
  }, { intervalMs: refreshIntervalMs, stopWaitMs });

  return {
    ledger: {
      entriesWritten(entries) {
        for (const entry of entries) postings.add(1, { kind: kindOf(entry.entryType) });
      },
    },
    refreshNow: () => background.pollNow(),
    async stop() {
      await background.stop();
      imbalance.removeCallback(observeImbalance);
      readAge.removeCallback(observeAge);
    },
  };
}
