import { create } from "@bufbuild/protobuf";
import { timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { providerIdToProto, reconciliationTopic, type ProviderId } from "@tributary/contracts";
import {
  DiscrepancyClass,
  DiscrepancyFoundSchema,
  ExceptionResolvedSchema,
  ReconciliationCompletedSchema,
} from "@tributary/contracts/reconciliation/v1/reconciliation_events";
import { appendToOutbox } from "@tributary/events";
import { assertNever } from "@tributary/result";
import type { ReconException } from "../../app/exceptions.js";
import type { DiscrepancyNotice, ReconOutbox, RunNotice, Tx } from "../../app/ports.js";
import { MATCH_CLASSES, type MatchClass } from "../../domain/match.js";

/** The `producer` header of everything reconciliation publishes. */
export const RECONCILIATION_PRODUCER = "reconciliation";

/**
 * Our classes on the wire. The contract's enum is coarser: over and under amount, and currency
 * mismatch, are AMOUNT_MISMATCH; timing is DATE_MISMATCH. The description starts with our class so
 * nothing is lost.
 */
export function discrepancyClassToProto(matchClass: Exclude<MatchClass, "matched">): DiscrepancyClass {
  switch (matchClass) {
    case "missing_in_ledger":
      return DiscrepancyClass.MISSING_IN_LEDGER;
    case "missing_in_bill":
      return DiscrepancyClass.MISSING_IN_BILL;
    case "over_amount":
    case "under_amount":
    case "currency_mismatch":
      return DiscrepancyClass.AMOUNT_MISMATCH;
    case "fee_mismatch":
      return DiscrepancyClass.FEE_MISMATCH;
    case "status_mismatch":
      return DiscrepancyClass.STATUS_MISMATCH;
    case "duplicate_in_bill":
      return DiscrepancyClass.DUPLICATE;
    case "timing":
      return DiscrepancyClass.DATE_MISMATCH;
    default:
      return assertNever(matchClass, "match class");
  }
}

/**
 * Appends a run's `DiscrepancyFound` events (one per new exception) and its
 * `ReconciliationCompleted` to the outbox in the run's transaction, keyed `provider/bill_date`
 * so one day's results stay in order.
 */
async function appendRunEvents(tx: Tx, provider: ProviderId, billDate: string, run: RunNotice, discrepancies: readonly DiscrepancyNotice[]): Promise<void> {
  const key = `${provider}/${billDate}`;
  const proto = providerIdToProto(provider);
  const amount = (minor: bigint | undefined, currency: string) => (minor === undefined ? undefined : { amountMinor: minor, currency });
  await appendToOutbox(tx, RECONCILIATION_PRODUCER, reconciliationTopic, [
    ...discrepancies.map((d) => {
      const billAmount = amount(d.billAmountMinor, d.currency);
      const ledgerAmount = amount(d.ledgerAmountMinor, d.currency);
      return {
        key,
        schema: DiscrepancyFoundSchema,
        message: create(DiscrepancyFoundSchema, {
          reconciliationId: d.runId,
          provider: proto,
          billDate,
          discrepancyClass: discrepancyClassToProto(d.matchClass),
          providerTransactionId: d.providerTransactionId,
          ...(billAmount === undefined ? {} : { billAmount }),
          ...(ledgerAmount === undefined ? {} : { ledgerAmount }),
          billLocation: d.billLocation,
          description: `${d.matchClass}: ${d.description}`,
          exceptionId: d.exceptionId,
        }),
      };
    }),
    {
      key,
      schema: ReconciliationCompletedSchema,
      message: create(ReconciliationCompletedSchema, {
        reconciliationId: run.runId,
        provider: proto,
        billDate,
        billRowCount: run.billRowCount,
        ledgerRecordCount: run.ledgerRecordCount,
        matchedCount: run.matchedCount,
        discrepancyCount: run.discrepancyCount,
        billNet: { amountMinor: run.billNetMinor, currency: run.currency },
        ledgerNet: { amountMinor: run.ledgerNetMinor, currency: run.currency },
        completedAt: timestampFromMs(run.completedAtMs),
        classTotals: MATCH_CLASSES.map((matchClass) => ({
          matchClass,
          count: BigInt(run.totals[matchClass].count),
          billAmount: { amountMinor: run.totals[matchClass].billAmountMinor, currency: run.currency },
          ledgerAmount: { amountMinor: run.totals[matchClass].ledgerAmountMinor, currency: run.currency },
        })),
      }),
    },
  ]);
}

/**
 * Appends `ExceptionResolved` for an exception just closed, keyed `provider/bill_date` like the
 * run's events (so it follows the `DiscrepancyFound` that raised it), with the approved
 * adjustment when it was closed as adjusted.
 */
async function appendExceptionResolved(tx: Tx, exception: ReconException): Promise<void> {
  if (exception.status === "open" || exception.resolvedBy === undefined || exception.resolvedAt === undefined) {
    throw new Error(`exception ${exception.exceptionId} is not closed; there is no resolution to publish`);
  }
  const adjustment = exception.adjustment;
  await appendToOutbox(tx, RECONCILIATION_PRODUCER, reconciliationTopic, [
    {
      key: `${exception.provider}/${exception.billDate}`,
      schema: ExceptionResolvedSchema,
      message: create(ExceptionResolvedSchema, {
        exceptionId: exception.exceptionId,
        reconciliationId: exception.runId,
        provider: providerIdToProto(exception.provider),
        billDate: exception.billDate,
        matchClass: exception.matchClass,
        itemKey: exception.itemKey,
        note: exception.note ?? "",
        resolvedBy: exception.resolvedBy,
        resolvedAt: timestampFromDate(exception.resolvedAt),
        ...(adjustment === undefined
          ? {}
          : { adjustment: { merchantId: adjustment.merchantId, amount: { amountMinor: adjustment.amountMinor, currency: exception.currency } } }),
      }),
    },
  ]);
}

/** The {@link ReconOutbox} on `@tributary/events`' outbox, topic `reconciliation.v1`. */
export function createReconOutbox(): ReconOutbox {
  return { appendRunEvents, appendExceptionResolved };
}
