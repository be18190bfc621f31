import { paymentsTopic } from "@tributary/contracts";
import type { PaymentCaptured } from "@tributary/contracts/payment/v1/payment_events";
import { NonRetryableError, startIdempotentConsumer, type ConsumedEvent, type IdempotentConsumer } from "@tributary/events";
import { assertNever } from "@tributary/result";
import type { Logger } from "@tributary/telemetry";
import type { Kafka } from "kafkajs";
import type { Pool, PoolClient } from "pg";
import { countWritten, type SettlementDeps } from "../../app/ports.js";
import { recordCapture, withContext } from "../../app/record-capture.js";
import { orderContexts } from "../db/pg-order-context.js";
import { recordRefund } from "../../app/record-refund.js";
import { voidRefund } from "../../app/void-refund.js";
import { captureEntry, type Capture } from "../../domain/capture-entry.js";
import { writeEntries } from "../db/pg-ledger.js";
import { amountOf, providerOf, required, timeOf } from "./payment-messages.js";

/** Consumer group of the settlement service on `payments.v1`. */
export const SETTLEMENT_PAYMENTS_GROUP = "settlement-payments";

/** A `PaymentCaptured` as the ledger takes it, or a dead letter naming what is wrong. */
function captureOf(eventId: string, message: PaymentCaptured): Capture {
  required(message, ["paymentId", "orderId", "merchantId", "provider", "amount", "capturedAt"]);
  return {
    eventId,
    paymentId: message.paymentId,
    orderId: message.orderId,
    merchantId: message.merchantId,
    provider: providerOf(message.provider),
    providerTransactionId: message.providerTransactionId === "" ? undefined : message.providerTransactionId,
    amount: amountOf("amount", message.amount),
    reportedFee: message.fee === undefined ? undefined : amountOf("fee", message.fee, { allowZero: true }),
    capturedAt: timeOf("captured_at", message.capturedAt),
  };
}

/**
 * Applies a run of one partition's events in offset order, in the consumer's transaction: each
 * stretch of consecutive captures is one `writeEntries` (one multi-row INSERT per table for the
 * stretch); any other event is applied on its own, in its place, so a refund still sees the
 * capture before it. Two captures of one payment in a stretch post once (unique source key).
 */
export async function applyPaymentEvents(
  deps: SettlementDeps,
  events: readonly ConsumedEvent<typeof paymentsTopic>[],
  tx: PoolClient,
  logger?: Logger,
): Promise<void> {
  let captures: Capture[] = [];
  const flush = async (): Promise<void> => {
    if (captures.length === 0) return;
    const contexts = await orderContexts(tx, captures.map((c) => c.orderId));
    const entries = captures.map((c) => captureEntry(withContext(c, contexts.get(c.orderId)), deps.terms, deps.newId()));
    countWritten(deps, entries, await writeEntries(tx, entries));
    captures = [];
  };
  for (const event of events) {
    if (event.message.$typeName === "tributary.payment.v1.PaymentCaptured") {
      captures.push(captureOf(event.eventId, event.message));
      continue;
    }
    await flush();
    await applyPaymentEvent(deps, event, tx, logger);
  }
  await flush();
}

/**
 * Applies one `payments.v1` event to the ledger in the consumer's transaction (the inbox row for
 * its event id commits with the postings, so it is applied once). A capture posts its entry; a
 * completed refund posts (and releases its reservation); a failed refund voids its reservation.
 * Bad input — an empty required field, a bad amount, a refund past the captured amount, a refund of
 * a payment the ledger never saw captured — is a dead letter with the reason, never a guess.
 */
export async function applyPaymentEvent(
  deps: SettlementDeps,
  event: ConsumedEvent<typeof paymentsTopic>,
  tx: PoolClient,
  logger?: Logger,
): Promise<void> {
  const message = event.message;
  switch (message.$typeName) {
    case "tributary.payment.v1.PaymentRouted":
    case "tributary.payment.v1.PaymentFailed":
      return;
    case "tributary.payment.v1.PaymentCaptured": {
      const result = await recordCapture(deps, tx, captureOf(event.eventId, message));
      if (!result.posted) logger?.info({ paymentId: message.paymentId, eventId: event.eventId }, "settlement: capture already posted");
      return;
    }
    case "tributary.payment.v1.PaymentRefunded": {
      required(message, ["paymentId", "orderId", "refundRef", "amount", "refundedAt"]);
      const amount = amountOf("amount", message.amount);
      const result = await recordRefund(deps, tx, {
        eventId: event.eventId,
        orderId: message.orderId,
        paymentId: message.paymentId,
        refundRef: message.refundRef,
        amountMinor: amount.amountMinor,
        currency: amount.currency,
        providerRefundId: message.providerRefundId === "" ? undefined : message.providerRefundId,
        at: timeOf("refunded_at", message.refundedAt),
      });
      if (!result.ok) throw new NonRetryableError(`${result.error.code}: ${result.error.message}`);
      return;
    }
    case "tributary.payment.v1.RefundFailed": {
      required(message, ["paymentId", "orderId", "refundRef", "reasonCode"]);
      await voidRefund(tx, {
        orderId: message.orderId,
        refundRef: message.refundRef,
        eventId: event.eventId,
        reason: message.providerMessage === "" ? message.reasonCode : `${message.reasonCode}: ${message.providerMessage}`,
      });
      return;
    }
    default:
      return assertNever(message, "payments.v1 message");
  }
}

/** Starts the `payments.v1` consumer of the settlement service on the events package's idempotent consumer. */
export function startPaymentsConsumer(options: {
  readonly kafka: Kafka;
  readonly pool: Pool;
  readonly deps: SettlementDeps;
  readonly groupId?: string;
  readonly logger?: Logger;
}): Promise<IdempotentConsumer> {
  return startIdempotentConsumer({
    kafka: options.kafka,
    pool: options.pool,
    groupId: options.groupId ?? SETTLEMENT_PAYMENTS_GROUP,
    topic: paymentsTopic,
    handleBatch: (events, tx) => applyPaymentEvents(options.deps, events, tx, options.logger),
  });
}
