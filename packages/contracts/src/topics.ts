import {
  CaptureRefundRequestedSchema,
  OrderAcceptedSchema,
  OrderCancelledSchema,
  OrderPaidSchema,
  OrderPaymentFailedSchema,
  OrderPlacedSchema,
  OrderRefundRequestedSchema,
  OrderRejectedSchema,
} from "./gen/tributary/order/v1/order_events_pb.js";
import {
  PaymentCapturedSchema,
  PaymentFailedSchema,
  PaymentRefundedSchema,
  PaymentRoutedSchema,
  RefundFailedSchema,
} from "./gen/tributary/payment/v1/payment_events_pb.js";
import {
  RolloutPausedSchema,
  RolloutResumedSchema,
  RoutingPolicyChangedSchema,
} from "./gen/tributary/payment/v1/routing_events_pb.js";
import {
  DiscrepancyFoundSchema,
  ExceptionResolvedSchema,
  ReconciliationCompletedSchema,
} from "./gen/tributary/reconciliation/v1/reconciliation_events_pb.js";
import {
  PayoutInstructedSchema,
  SettlementBatchClosedSchema,
  SettlementBatchHeldSchema,
  SettlementBatchReconciledSchema,
} from "./gen/tributary/settlement/v1/settlement_events_pb.js";
import { StatementAvailableSchema } from "./gen/tributary/statement/v1/statement_events_pb.js";
import { defineTopic, type TopicProvisioning } from "./topic.js";

/**
 * Replication 3 / min ISR 2 everywhere: one broker of three may die without losing an
 * acknowledged event. Partition counts follow each topic's expected volume and the consumer
 * instances it should feed (they can be raised later, never lowered, and raising one moves keys).
 */
const replicated = { replicationFactor: 3, minInsyncReplicas: 2 } as const;
/** Order and payment traffic: every payment passes here; 12 partitions feed up to 12 instances. */
const highVolume: TopicProvisioning = { partitions: 12, ...replicated };
/** Per-batch and per-bill traffic: a few hundred events a day per provider. */
const lowVolume: TopicProvisioning = { partitions: 3, ...replicated };

/** Upstream systems publish orders here. Key: `merchant_id/merchant_order_ref`. */
export const ordersInboundTopic = defineTopic("orders.inbound.v1", [OrderPlacedSchema], highVolume);

/** The order service's events. Key: order id. */
export const ordersTopic = defineTopic("orders.v1", [
  OrderAcceptedSchema,
  OrderRejectedSchema,
  OrderPaidSchema,
  OrderPaymentFailedSchema,
  OrderCancelledSchema,
  OrderRefundRequestedSchema,
  CaptureRefundRequestedSchema,
], highVolume);

/** Payment-routing's events. Key: order id, so one order's payment events stay ordered. */
export const paymentsTopic = defineTopic("payments.v1", [
  PaymentRoutedSchema,
  PaymentCapturedSchema,
  PaymentFailedSchema,
  PaymentRefundedSchema,
  RefundFailedSchema,
], highVolume);

/**
 * Payment-routing's policy news: every change of the routing policy and every automatic pause and
 * resume of a roll-out. Its own topic rather than `payments.v1`, whose consumers (order,
 * settlement) handle every payment event exhaustively and would each have to learn to skip these.
 * Key: `routing-policy`, one key for all, so versions arrive in the order they were made.
 */
export const routingTopic = defineTopic("routing.v1", [
  RoutingPolicyChangedSchema,
  RolloutPausedSchema,
  RolloutResumedSchema,
], lowVolume);

/** Settlement batch events. Key: batch id. */
export const settlementTopic = defineTopic("settlement.v1", [
  SettlementBatchClosedSchema,
  SettlementBatchReconciledSchema,
  SettlementBatchHeldSchema,
  PayoutInstructedSchema,
], lowVolume);

/** A provider's daily bill can be fetched. Key: `provider/bill_date`. */
export const statementsTopic = defineTopic("statements.v1", [StatementAvailableSchema], lowVolume);

/** Reconciliation results and the exceptions people closed (with approved adjustments). Key: `provider/bill_date`. */
export const reconciliationTopic = defineTopic("reconciliation.v1", [
  ReconciliationCompletedSchema,
  DiscrepancyFoundSchema,
  ExceptionResolvedSchema,
], lowVolume);

/** Every topic of DESIGN.md's table, for tools that create topics or list dead letters. */
export const allTopics = [
  ordersInboundTopic,
  ordersTopic,
  paymentsTopic,
  routingTopic,
  settlementTopic,
  statementsTopic,
  reconciliationTopic,
] as const;
