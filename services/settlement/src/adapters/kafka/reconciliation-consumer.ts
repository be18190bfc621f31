import { timestampDate } from "@bufbuild/protobuf/wkt";
import { reconciliationTopic } from "@tributary/contracts";
import { DiscrepancyClass } from "@tributary/contracts/reconciliation/v1/reconciliation_events";
import { NonRetryableError, startIdempotentConsumer, type ConsumedEvent, type IdempotentConsumer } from "@tributary/events";
import { assertNever } from "@tributary/result";
import type { Logger } from "@tributary/telemetry";
import type { Kafka } from "kafkajs";
import type { Pool, PoolClient } from "pg";
import { parseCurrencyCode } from "@tributary/money";
import { applyReconciliation, closeException, recordDiscrepancy } from "../../app/apply-reconciliation.js";
import { postAdjustment } from "../../app/post-adjustment.js";
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID exception id, or undefined for an empty or malformed one (older producers sent none). */
function exceptionIdOf(text: string): string | undefined {
  return UUID.test(text) ? text : undefined;
}

async function releaseHolds(deps: SettlementDeps, tx: PoolClient, closure: Parameters<typeof closeException>[2], logger: Logger | undefined): Promise<void> {
  const released = await closeException(deps, tx, closure);
  if (released.length > 0) logger?.info({ exceptionId: closure.exceptionId, released }, "settlement: every exception of the hold is closed; batches reconciled");
}

/**
 * Reconciliation feedback: each `DiscrepancyFound` is kept (attached to its merchant's batch);
 * `ReconciliationCompleted` marks the provider's batches of that bill day reconciled or held; an
 * `ExceptionResolved` with an approved adjustment posts it through suspense (reason: the note,
 * approver: who resolved it), once per exception id — the merchant's next batch with the provider
 * takes it in — and any `ExceptionResolved` closes its discrepancy, releasing a held batch whose
 * discrepancies are then all closed. An adjustment that cannot be posted (no merchant, zero, an unknown currency, the
 * same exception id with other terms) is dead-lettered with the reason, never half applied.
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
        exceptionId: exceptionIdOf(message.exceptionId),
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
    case "tributary.reconciliation.v1.ExceptionResolved": {
      required(message, ["exceptionId", "provider", "billDate", "resolvedBy"]);
      const exceptionId = exceptionIdOf(message.exceptionId);
      if (exceptionId === undefined) throw new NonRetryableError(`exception_id ${JSON.stringify(message.exceptionId)} is not a UUID`);
      const closure = {
        exceptionId,
        provider: providerOf(message.provider),
        businessDate: dateOf(message.billDate),
        closedAt: message.resolvedAt === undefined ? deps.clock() : timestampDate(message.resolvedAt),
      };
      const adjustment = message.adjustment;
      // Resolved with nothing to post: only the hold it was part of may be released.
      if (adjustment === undefined) {
        await releaseHolds(deps, tx, closure, logger);
        return;
      }
      if (adjustment.merchantId.trim() === "") throw new NonRetryableError("adjustment.merchant_id is missing");
      if (adjustment.amount === undefined) throw new NonRetryableError("adjustment.amount is missing");
      const currency = parseCurrencyCode(adjustment.amount.currency);
      if (!currency.ok) throw new NonRetryableError(`adjustment.amount.currency ${JSON.stringify(adjustment.amount.currency)} is not a currency`);
      const posted = await postAdjustment(deps, tx, {
        reference: `recon-exception:${message.exceptionId}`,
        merchantId: adjustment.merchantId,
        provider: providerOf(message.provider),
        currency: currency.value,
        amountMinor: adjustment.amount.amountMinor,
        reason: message.note,
        approvedBy: message.resolvedBy,
        at: deps.clock(),
      });
      if (!posted.ok) throw new NonRetryableError(`adjustment of exception ${message.exceptionId}: ${posted.error.message}`);
      if (posted.value.posted) {
        logger?.info({ exceptionId: message.exceptionId, entryId: posted.value.entryId, merchantId: adjustment.merchantId }, "settlement: approved adjustment posted through suspense");
      }
      await releaseHolds(deps, tx, closure, logger);
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
