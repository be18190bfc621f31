import { timestampDate } from "@bufbuild/protobuf/wkt";
import { reconciliationTopic } from "@tributary/contracts";
import { DiscrepancyClass } from "@tributary/contracts/reconciliation/v1/reconciliation_events";
import { NonRetryableError, startIdempotentConsumer, type ConsumedEvent, type IdempotentConsumer } from "@tributary/events";
import { assertNever } from "@tributary/result";
import type { Logger } from "@tributary/telemetry";
import type { Kafka } from "kafkajs";
import type { Pool, PoolClient } from "pg";
import { applyReconciliation, recordDiscrepancy } from "../../app/apply-reconciliation.js";
import type { SettlementDeps } from "../../app/ports.js";
import { isBusinessDate } from "../../domain/business-date.js";
import { providerOf, required } from "./payment-messages.js";

/** Consumer group of the settlement service on `reconciliation.v1`. */
export const SETTLEMENT_RECONCILIATION_GROUP = "settlement-reconciliation";

function dateOf(text: string): string {
  if (!isBusinessDate(text)) throw new NonRetryableError(`bill_date ${JSON.stringify(text)} is not YYYY-MM-DD`);
  return text;
}

function className(value: DiscrepancyClass): string {
  switch (value) {
    case DiscrepancyClass.UNSPECIFIED:
      throw new NonRetryableError("discrepancy_class is missing");
    case DiscrepancyClass.MISSING_IN_LEDGER:
      return "missing_in_ledger";
    case DiscrepancyClass.MISSING_IN_BILL:
      return "missing_in_bill";
    case DiscrepancyClass.AMOUNT_MISMATCH:
      return "amount_mismatch";
    case DiscrepancyClass.FEE_MISMATCH:
      return "fee_mismatch";
    case DiscrepancyClass.STATUS_MISMATCH:
      return "status_mismatch";
    case DiscrepancyClass.DATE_MISMATCH:
      return "date_mismatch";
    case DiscrepancyClass.DUPLICATE:
      return "duplicate";
    default:
      throw new NonRetryableError(`discrepancy_class ${String(value)} is unknown`);
  }
}

/**
 * Reconciliation feedback: each `DiscrepancyFound` is kept (attached to its merchant's batch);
 * `ReconciliationCompleted` marks the provider's batches of that bill day reconciled or held.
 */
export async function applyReconciliationEvent(deps: SettlementDeps, event: ConsumedEvent<typeof reconciliationTopic>, tx: PoolClient, logger?: Logger): Promise<void> {
  const message = event.message;
  switch (message.$typeName) {
    case "tributary.reconciliation.v1.DiscrepancyFound":
      required(message, ["reconciliationId", "provider", "billDate", "discrepancyClass"]);
      await recordDiscrepancy(tx, {
        eventId: event.eventId,
        reconciliationId: message.reconciliationId,
        provider: providerOf(message.provider),
        businessDate: dateOf(message.billDate),
        discrepancyClass: className(message.discrepancyClass),
        providerTransactionId: message.providerTransactionId,
        currency: message.ledgerAmount?.currency ?? message.billAmount?.currency,
        ledgerAmountMinor: message.ledgerAmount?.amountMinor,
        billAmountMinor: message.billAmount?.amountMinor,
        billLocation: message.billLocation,
        description: message.description,
      });
      return;
    case "tributary.reconciliation.v1.ReconciliationCompleted": {
      required(message, ["reconciliationId", "provider", "billDate"]);
      const applied = await applyReconciliation(deps, tx, {
        reconciliationId: message.reconciliationId,
        provider: providerOf(message.provider),
        businessDate: dateOf(message.billDate),
        discrepancyCount: message.discrepancyCount,
      });
      const total = applied.reconciled.length + applied.held.length + applied.unchanged.length;
      if (total === 0) {
        logger?.warn(
          { reconciliationId: message.reconciliationId, billDate: message.billDate, completedAt: message.completedAt === undefined ? undefined : timestampDate(message.completedAt) },
          "settlement: a reconciliation completed for a day with no closed batch; close the day, then replay the event",
        );
      }
      return;
    }
    default:
      return assertNever(message, "reconciliation.v1 message");
  }
}

/** Starts the `reconciliation.v1` consumer. */
export function startReconciliationConsumer(options: {
  readonly kafka: Kafka;
  readonly pool: Pool;
  readonly deps: SettlementDeps;
  readonly groupId?: string;
  readonly logger?: Logger;
}): Promise<IdempotentConsumer> {
  return startIdempotentConsumer({
    kafka: options.kafka,
    pool: options.pool,
    groupId: options.groupId ?? SETTLEMENT_RECONCILIATION_GROUP,
    topic: reconciliationTopic,
    handle: (event, tx) => applyReconciliationEvent(options.deps, event, tx, options.logger),
  });
}
