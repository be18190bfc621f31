import type { Context } from "@opentelemetry/api";
import type { ProviderId } from "@tributary/contracts";
import type { Money } from "@tributary/money";
import type { Logger } from "@tributary/telemetry";
import type { Pool, PoolClient } from "pg";
import type { BuyerAction, PaymentChannel, ProviderAdapter } from "../adapters/providers/provider-adapter.js";
import type { CandidateTier } from "../domain/routing/route.js";
import type { BuyerAccounts } from "../domain/routing/routing-order.js";
import type { HealthTracker } from "./health-tracker.js";
import type { PolicySource } from "./policy-source.js";

/** A connection inside an open transaction: every write of one use case goes through one. */
export type Tx = PoolClient;

/** Anything that can run a read: the pool, or a transaction inside a use case. */
export type Reader = Pool | PoolClient;

/**
 * A payment's status as stored (the `payment_status` enum). `creating`: the row is committed, the
 * provider call not yet made (`providerStatus` null: queued) or not answered (sent, outcome
 * unknown); `pending`: the provider created it, the buyer has not paid; `review`: an answer we
 * could not trust or map, for an operator. `captured`, `failed` and `closed` are terminal (a
 * capture can still arrive for a failed or closed payment: it is refunded, see the README).
 */
export type PaymentStatus = "creating" | "pending" | "captured" | "failed" | "closed" | "review";

/** A refund's status as stored (the `refund_status` enum). */
export type RefundStatus = "requested" | "processing" | "succeeded" | "failed";

/** The routing decision as stored with each attempt (JSON): what to fail over to, and why. */
export interface StoredDecision {
  readonly policyVersion: number;
  readonly candidates: readonly { readonly provider: ProviderId; readonly tier: string; readonly reasons: readonly string[] }[];
  readonly dropped: readonly { readonly provider: ProviderId; readonly reasons: readonly string[] }[];
  readonly matchedRuleIds: readonly string[];
  readonly explored: boolean;
}

/** One row of `payments`: one attempt at one provider for one order. */
export interface PaymentRecord {
  readonly paymentId: string;
  readonly orderId: string;
  readonly merchantId: string;
  readonly buyerId: string;
  /** The buyer's account at each provider the order named one for; the attempt's provider product may need its own. */
  readonly buyerAccounts: BuyerAccounts;
  readonly provider: ProviderId;
  readonly channel: PaymentChannel;
  readonly attempt: number;
  readonly status: PaymentStatus;
  readonly amount: Money;
  readonly routingRule: string;
  readonly decision: StoredDecision;
  readonly rolloutId: string | undefined;
  readonly rolloutArm: string | undefined;
  readonly buyerAction: BuyerAction | undefined;
  readonly providerTransactionId: string | undefined;
  readonly providerStatus: string | undefined;
  readonly failureReason: string | undefined;
  /** What succeeded refunds gave back so far. */
  readonly refundedMinor: bigint;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly expiresAt: Date;
  readonly nextCheckAt: Date | undefined;
  /** Set when the provider confirmed the capture, also for a capture that arrived after the payment failed or closed. */
  readonly capturedAt: Date | undefined;
  /**
   * The W3C traceparent of the span the attempt was created in: the worker's provider calls and
   * the webhook's apply continue it, so one order is one trace. Undefined with tracing off.
   */
  readonly traceParent: string | undefined;
}

/** One row of `payment_refunds`. */
export interface RefundRecord {
  readonly refundRef: string;
  readonly paymentId: string;
  readonly orderId: string;
  readonly amount: Money;
  readonly reason: string;
  readonly status: RefundStatus;
  /** The refund of money no order owns (a late capture, a second capture, CaptureRefundRequested). */
  readonly unownedCapture: boolean;
  readonly providerRefundId: string | undefined;
  readonly providerStatus: string | undefined;
  readonly failureReason: string | undefined;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly nextCheckAt: Date | undefined;
}

/** What changes on a payment row; fields left out stay as they are. */
export interface PaymentUpdate {
  readonly status?: PaymentStatus;
  readonly buyerAction?: BuyerAction;
  readonly providerTransactionId?: string | undefined;
  readonly providerStatus?: string;
  readonly failureReason?: string;
  readonly refundedMinor?: bigint;
  /** `null` clears it: nothing left to check. */
  readonly nextCheckAt?: Date | null;
  readonly capturedAt?: Date;
}

/** What changes on a refund row; fields left out stay as they are. */
export interface RefundUpdate {
  readonly status?: RefundStatus;
  readonly providerRefundId?: string;
  readonly providerStatus?: string;
  readonly failureReason?: string;
  readonly nextCheckAt?: Date | null;
}

/** One create the provider answered: what {@link PaymentStore.recordCreated} writes. */
export interface CreatedAtProvider {
  readonly paymentId: string;
  readonly buyerAction: BuyerAction;
  /** When to query it first if no notification comes (capped at the payment's expiry by the store). */
  readonly firstQueryAt: Date;
}

/** A payment the sweeper claimed, with what it was before the claim. */
export interface ClaimedPayment {
  readonly payment: PaymentRecord;
  /** The claim turned a queued `creating` row (never sent) into a sending one: create it, do not query. */
  readonly toSend: boolean;
}

/**
 * The lifecycle's tables as the use cases need them; `adapters/db/pg-payment-store.ts` implements
 * it with plain SQL on the pool (the hot path, not Prisma).
 */
export interface PaymentStore {
  insertPayment(tx: Tx, payment: PaymentRecord): Promise<void>;
  /**
   * Inserts an order's first attempt unless the order already has one, in one statement (the
   * OrderAccepted path: no SELECT first). False when the order had an attempt: nothing written.
   */
  insertFirstPayment(tx: Tx, payment: PaymentRecord): Promise<boolean>;
  /** {@link insertFirstPayment} for many orders in one statement; answers the payment ids inserted. */
  insertFirstPayments(tx: Tx, payments: readonly PaymentRecord[]): Promise<ReadonlySet<string>>;
  loadPayment(db: Reader, paymentId: string, options: { readonly forUpdate: boolean }): Promise<PaymentRecord | undefined>;
  /** Every attempt for an order, oldest first; `forUpdate` locks them all. */
  paymentsOfOrder(db: Reader, orderId: string, options: { readonly forUpdate: boolean }): Promise<PaymentRecord[]>;
  updatePayment(tx: Tx, paymentId: string, update: PaymentUpdate, now: Date): Promise<void>;
  insertRefund(tx: Tx, refund: RefundRecord): Promise<void>;
  loadRefund(db: Reader, refundRef: string, options: { readonly forUpdate: boolean }): Promise<RefundRecord | undefined>;
  refundsOfPayment(db: Reader, paymentId: string): Promise<RefundRecord[]>;
  updateRefund(tx: Tx, refundRef: string, update: RefundUpdate, now: Date): Promise<void>;
  /**
   * Claims up to `limit` payments whose `next_check_at` is due (FOR UPDATE SKIP LOCKED, so two
   * instances never claim the same row) by moving `next_check_at` to `leaseUntil`; a queued
   * `creating` row is marked as being sent in the same statement.
   */
  claimDuePayments(db: Reader, now: Date, leaseUntil: Date, limit: number): Promise<ClaimedPayment[]>;
  /**
   * Records what the provider answered to our creates, one statement for all of them and no
   * transaction of its own (each row's change stands alone): a row still `creating` becomes
   * `pending` (`provider_status` "created", first query at the earlier of `firstQueryAt` and its
   * expiry); a row a notification moved on already (the buyer paid before the answer came) keeps
   * its state and only gains the buyer action. A row that does not exist is left alone.
   */
  recordCreated(db: Reader, created: readonly CreatedAtProvider[], now: Date): Promise<void>;
  /** Claims one queued `creating` payment for sending; undefined when another instance has it or it is not queued. */
  claimQueuedPayment(db: Reader, paymentId: string, leaseUntil: Date): Promise<PaymentRecord | undefined>;
  /** Claims up to `limit` refunds whose `next_check_at` is due, as {@link claimDuePayments}. */
  claimDueRefunds(db: Reader, now: Date, leaseUntil: Date, limit: number): Promise<RefundRecord[]>;
}

/** The lifecycle's events, published on `payments.v1` (key order id) through the outbox. */
export type PaymentEvent =
  | { readonly type: "payment_routed"; readonly payment: PaymentRecord }
  | {
      readonly type: "payment_captured";
      readonly payment: PaymentRecord;
      readonly providerTransactionId: string | undefined;
      readonly fee: Money;
      readonly capturedAt: Date;
    }
  | {
      readonly type: "payment_failed";
      readonly paymentId: string;
      readonly orderId: string;
      readonly merchantId: string;
      /** Undefined when no rail was eligible (no attempt was made). */
      readonly provider: ProviderId | undefined;
      readonly reasonCode: string;
      readonly providerMessage: string;
    }
  | {
      readonly type: "payment_refunded";
      readonly payment: PaymentRecord;
      readonly refund: RefundRecord;
      readonly providerRefundId: string | undefined;
      readonly feeReturned: Money;
      readonly refundedAt: Date;
    }
  | {
      readonly type: "refund_failed";
      readonly paymentId: string;
      readonly orderId: string;
      readonly refundRef: string;
      readonly reasonCode: string;
      readonly providerMessage: string;
    };

/**
 * A lifecycle event and, when it is not the active one, the trace it continues (a batch that
 * commits several orders' work at once gives each event its own order's trace).
 */
export type TracedPaymentEvent = PaymentEvent & { readonly traceContext?: Context };

/** Appends lifecycle events to the outbox in the caller's transaction. */
export interface PaymentOutbox {
  append(tx: Tx, events: readonly TracedPaymentEvent[]): Promise<void>;
}

/** How long the lifecycle waits before it asks; every one configurable (tests use small values). */
export interface LifecycleTimings {
  /** First query of a pending payment whose notification has not come. Default 30 s. */
  readonly firstQueryAfterMs: number;
  /** Later queries of a pending payment, and of a refund still processing. Default 30 s. */
  readonly queryIntervalMs: number;
  /** How long the buyer has to pay; then the payment is closed at the provider. Default 15 min. */
  readonly paymentTimeoutMs: number;
  /** Re-query (or retry a close) after an unknown outcome (timeout, 5xx, unreachable). Default 5 s. */
  readonly unknownRetryMs: number;
  /** A claimed row is left alone this long (longer than a provider call or three). Default 60 s. */
  readonly leaseMs: number;
  /** First query of a refund the provider accepted as processing. Default 5 s. */
  readonly refundQueryAfterMs: number;
}

/** The defaults of {@link LifecycleTimings}. */
export const DEFAULT_LIFECYCLE_TIMINGS: LifecycleTimings = {
  firstQueryAfterMs: 30_000,
  queryIntervalMs: 30_000,
  paymentTimeoutMs: 15 * 60_000,
  unknownRetryMs: 5_000,
  leaseMs: 60_000,
  refundQueryAfterMs: 5_000,
};

/** Counts an operator watches; the composition root backs them with OpenTelemetry counters. */
export interface LifecycleMetrics {
  /** A capture no order owns was refunded automatically (late after close, or a second capture). */
  unownedCaptureRefunded(provider: ProviderId, reason: "late_capture" | "second_capture" | "capture_refund_requested"): void;
  /** A provider call finished, by call and outcome code, after `durationS` seconds (the adapter's whole call). */
  providerCall(provider: ProviderId, call: string, outcome: string, durationS: number): void;
  /** Routing chose a rail for a newly accepted order, or none was eligible (`provider` and `tier` undefined). */
  routingDecision(decision: RoutingDecisionMetric): void;
}

/** What one routing decision is counted by. */
export interface RoutingDecisionMetric {
  /** The rail of attempt 1; undefined when no rail was eligible. */
  readonly provider: ProviderId | undefined;
  readonly tier: CandidateTier | undefined;
  /** The trial roll-out the decision belongs to, and which arm of it, when it belongs to one. */
  readonly rolloutId: string | undefined;
  readonly rolloutArm: "treatment" | "control" | undefined;
}

/** Metrics that count nothing (tests, tools). */
export const noLifecycleMetrics: LifecycleMetrics = { unownedCaptureRefunded: () => undefined, providerCall: () => undefined, routingDecision: () => undefined };

/** Everything the lifecycle's use cases need. */
export interface LifecycleDeps {
  readonly pool: Pool;
  readonly store: PaymentStore;
  readonly outbox: PaymentOutbox;
  /** One adapter per provider the service talks to; a rail without one is never routed to. */
  readonly adapters: ReadonlyMap<ProviderId, ProviderAdapter>;
  readonly policySource: PolicySource;
  readonly health: HealthTracker;
  readonly clock: () => Date;
  readonly newPaymentId: () => string;
  /** A uniform draw in [0, 1) for routing's exploration. */
  readonly random: () => number;
  /** Where the provider sends notifications about payments and refunds at `provider`. */
  readonly notifyUrl: (provider: ProviderId) => string;
  readonly timings: LifecycleTimings;
  readonly metrics: LifecycleMetrics;
  readonly logger: Logger | undefined;
}
