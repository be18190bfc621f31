import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import type { Consumer, Kafka } from "kafkajs";
import { channelIdFromProto, ordersTopic, paymentsTopic, providerIdFromProto, reconciliationTopic, settlementTopic, type ChannelId, type ProviderId } from "@tributary/contracts";
import { OrderAcceptedSchema, OrderPaidSchema, OrderPaymentFailedSchema, OrderRejectedSchema } from "@tributary/contracts/order/v1/order_events";
import { PaymentCapturedSchema, PaymentFailedSchema, PaymentRoutedSchema } from "@tributary/contracts/payment/v1/payment_events";
import { DiscrepancyClass, DiscrepancyFoundSchema, ReconciliationCompletedSchema } from "@tributary/contracts/reconciliation/v1/reconciliation_events";
import { SettlementBatchClosedSchema, SettlementBatchHeldSchema, SettlementBatchReconciledSchema } from "@tributary/contracts/settlement/v1/settlement_events";

/** A captured payment of the run, as `PaymentCaptured` said. */
export interface CapturedPayment {
  readonly paymentId: string;
  readonly orderId: string;
  readonly merchantId: string;
  readonly provider: ProviderId;
  readonly providerTransactionId: string;
  readonly amountMinor: bigint;
  readonly feeMinor: bigint;
}

/** One payment attempt of the run, as `PaymentRouted` said, with its order's checkout channel. */
export interface RoutedAttempt {
  readonly paymentId: string;
  readonly orderId: string;
  readonly provider: ProviderId;
  readonly channel: ChannelId | undefined;
}

/** A provider's reconciliation run of the day, as `ReconciliationCompleted` said. */
export interface CompletedReconciliation {
  readonly reconciliationId: string;
  readonly provider: ProviderId;
  readonly billDate: string;
  readonly billRowCount: bigint;
  readonly ledgerRecordCount: bigint;
  readonly matchedCount: bigint;
  readonly discrepancyCount: bigint;
  readonly billNetMinor: bigint;
  readonly ledgerNetMinor: bigint;
}

/** A discrepancy announced on `reconciliation.v1`. */
export interface AnnouncedDiscrepancy {
  readonly provider: ProviderId;
  readonly billDate: string;
  readonly discrepancyClass: string;
  readonly providerTransactionId: string;
  readonly description: string;
}

/**
 * Everything the day run learns from the topics, for the orders of one run (merchant order
 * references starting with its id): what the order service answered, how each order ended, what
 * payment-routing did, the batches settlement closed and how reconciliation left them. Nothing
 * here is counted from anywhere but the events themselves.
 */
export interface DayEvents {
  /** merchant order reference → order id. */
  readonly accepted: Map<string, string>;
  readonly rejected: Map<string, string>;
  /** order id → provider it was first routed to. */
  readonly routed: Map<string, { provider: ProviderId; rule: string }>;
  /** Every attempt in the order routed (first ones and failovers). */
  readonly attempts: RoutedAttempt[];
  /** order id → payment id, amount. */
  readonly paid: Map<string, { paymentId: string; amountMinor: bigint }>;
  /** order id → reason. */
  readonly failed: Map<string, string>;
  /** payment id → the capture. */
  readonly captured: Map<string, CapturedPayment>;
  /** payment id → provider and reason code. */
  readonly paymentFailures: Map<string, { provider: ProviderId | undefined; reasonCode: string }>;
  /** batch id → closed (from SettlementBatchClosed). */
  readonly batchesClosed: Set<string>;
  readonly batchesReconciled: Set<string>;
  readonly batchesHeld: Map<string, bigint>;
  /** provider → the completed run of the bill day. */
  readonly reconciliations: Map<ProviderId, CompletedReconciliation>;
  readonly discrepancies: AnnouncedDiscrepancy[];
}

/** A watcher of the day's topics; join it before publishing anything. */
export interface DayWatch {
  readonly events: DayEvents;
  stop(): Promise<void>;
}

const classNames: Readonly<Record<DiscrepancyClass, string>> = {
  [DiscrepancyClass.UNSPECIFIED]: "unspecified",
  [DiscrepancyClass.MISSING_IN_LEDGER]: "missing_in_ledger",
  [DiscrepancyClass.MISSING_IN_BILL]: "missing_in_bill",
  [DiscrepancyClass.AMOUNT_MISMATCH]: "amount_mismatch",
  [DiscrepancyClass.FEE_MISMATCH]: "fee_mismatch",
  [DiscrepancyClass.STATUS_MISMATCH]: "status_mismatch",
  [DiscrepancyClass.DATE_MISMATCH]: "date_mismatch",
  [DiscrepancyClass.DUPLICATE]: "duplicate",
};

/**
 * Watches `orders.v1`, `payments.v1`, `settlement.v1` and `reconciliation.v1` from their ends in
 * a group of its own, keeping what concerns the run `runId` and the bill day `billDate`.
 * Resolves once the consumer has joined, so nothing published afterwards is missed.
 */
export async function watchDay(kafka: Kafka, runId: string, billDate: string): Promise<DayWatch> {
  const events: DayEvents = {
    accepted: new Map(),
    rejected: new Map(),
    routed: new Map(),
    attempts: [],
    paid: new Map(),
    failed: new Map(),
    captured: new Map(),
    paymentFailures: new Map(),
    batchesClosed: new Set(),
    batchesReconciled: new Set(),
    batchesHeld: new Map(),
    reconciliations: new Map(),
    discrepancies: [],
  };
  const ours = new Set<string>();
  const channels = new Map<string, ChannelId | undefined>();
  const consumer: Consumer = kafka.consumer({ groupId: `tributary-day-watch-${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [ordersTopic.name, paymentsTopic.name, settlementTopic.name, reconciliationTopic.name], fromBeginning: false });
  const joined = new Promise<void>((resolveJoin) => consumer.on(consumer.events.GROUP_JOIN, () => resolveJoin()));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const type = String(message.headers?.["event-type"] ?? "");
      const value = message.value ?? Buffer.alloc(0);
      switch (type) {
        case OrderAcceptedSchema.typeName: {
          const order = fromBinary(OrderAcceptedSchema, value).order;
          if (order?.merchantOrderRef.startsWith(`${runId}-`) === true) {
            events.accepted.set(order.merchantOrderRef, order.orderId);
            ours.add(order.orderId);
            channels.set(order.orderId, channelIdFromProto(order.channel));
          }
          break;
        }
        case OrderRejectedSchema.typeName: {
          const refusal = fromBinary(OrderRejectedSchema, value);
          if (refusal.merchantOrderRef.startsWith(`${runId}-`)) {
            events.rejected.set(refusal.merchantOrderRef, refusal.reasons.map((reason) => `${reason.field}: ${reason.description}`).join("; "));
          }
          break;
        }
        case PaymentRoutedSchema.typeName: {
          const routed = fromBinary(PaymentRoutedSchema, value);
          const provider = providerIdFromProto(routed.provider);
          if (ours.has(routed.orderId) && provider !== undefined) {
            if (!events.routed.has(routed.orderId)) events.routed.set(routed.orderId, { provider, rule: routed.routingRule });
            events.attempts.push({ paymentId: routed.paymentId, orderId: routed.orderId, provider, channel: channels.get(routed.orderId) });
          }
          break;
        }
        case PaymentCapturedSchema.typeName: {
          const captured = fromBinary(PaymentCapturedSchema, value);
          const provider = providerIdFromProto(captured.provider);
          if (ours.has(captured.orderId) && provider !== undefined) {
            events.captured.set(captured.paymentId, {
              paymentId: captured.paymentId,
              orderId: captured.orderId,
              merchantId: captured.merchantId,
              provider,
              providerTransactionId: captured.providerTransactionId,
              amountMinor: captured.amount?.amountMinor ?? 0n,
              feeMinor: captured.fee?.amountMinor ?? 0n,
            });
          }
          break;
        }
        case PaymentFailedSchema.typeName: {
          const failed = fromBinary(PaymentFailedSchema, value);
          if (ours.has(failed.orderId)) events.paymentFailures.set(failed.paymentId, { provider: providerIdFromProto(failed.provider), reasonCode: failed.reasonCode });
          break;
        }
        case OrderPaidSchema.typeName: {
          const paid = fromBinary(OrderPaidSchema, value);
          if (ours.has(paid.orderId)) events.paid.set(paid.orderId, { paymentId: paid.paymentId, amountMinor: paid.amount?.amountMinor ?? 0n });
          break;
        }
        case OrderPaymentFailedSchema.typeName: {
          const failed = fromBinary(OrderPaymentFailedSchema, value);
          if (ours.has(failed.orderId)) events.failed.set(failed.orderId, failed.reason);
          break;
        }
        case SettlementBatchClosedSchema.typeName: {
          const batch = fromBinary(SettlementBatchClosedSchema, value).batch;
          if (batch?.settlementDate === billDate) events.batchesClosed.add(batch.batchId);
          break;
        }
        case SettlementBatchReconciledSchema.typeName:
          events.batchesReconciled.add(fromBinary(SettlementBatchReconciledSchema, value).batchId);
          break;
        case SettlementBatchHeldSchema.typeName: {
          const held = fromBinary(SettlementBatchHeldSchema, value);
          events.batchesHeld.set(held.batchId, held.discrepancyCount);
          break;
        }
        case ReconciliationCompletedSchema.typeName: {
          const run = fromBinary(ReconciliationCompletedSchema, value);
          const provider = providerIdFromProto(run.provider);
          if (provider !== undefined && run.billDate === billDate) {
            events.reconciliations.set(provider, {
              reconciliationId: run.reconciliationId,
              provider,
              billDate: run.billDate,
              billRowCount: run.billRowCount,
              ledgerRecordCount: run.ledgerRecordCount,
              matchedCount: run.matchedCount,
              discrepancyCount: run.discrepancyCount,
              billNetMinor: run.billNet?.amountMinor ?? 0n,
              ledgerNetMinor: run.ledgerNet?.amountMinor ?? 0n,
            });
          }
          break;
        }
        case DiscrepancyFoundSchema.typeName: {
          const found = fromBinary(DiscrepancyFoundSchema, value);
          const provider = providerIdFromProto(found.provider);
          if (provider !== undefined && found.billDate === billDate) {
            events.discrepancies.push({
              provider,
              billDate: found.billDate,
              discrepancyClass: classNames[found.discrepancyClass],
              providerTransactionId: found.providerTransactionId,
              description: found.description,
            });
          }
          break;
        }
        default:
          break;
      }
    },
  });
  await joined;
  return { events, stop: () => consumer.disconnect() };
}
