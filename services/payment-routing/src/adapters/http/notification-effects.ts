import type { ProviderId } from "@tributary/contracts";
import type { PoolClient } from "pg";
import type { PaymentStatusReport, RefundStatusReport } from "../providers/provider-adapter.js";
import type { LockedPayment } from "./notification-store.js";

/**
 * What the webhook layer asks of the payment lifecycle once a notification verified, passed the
 * replay window and was stored as new: apply the provider's report inside the transaction that
 * stored its id, so "stored" and "applied" commit together or not at all. The lifecycle owns
 * every rule about order (a refund before its payment, a failure after a capture, a capture after
 * close): the webhook layer hands over what the provider said and acknowledges what the lifecycle
 * decided.
 */
export interface NotificationEffects {
  applyPayment(tx: PoolClient, report: PaymentStatusReport, context: NotificationContext): Promise<EffectOutcome>;
  applyRefund(tx: PoolClient, report: RefundStatusReport & { readonly paymentId: string }, context: NotificationContext): Promise<EffectOutcome>;
}

/** Where a report came from, for the lifecycle's audit and logs. */
export interface NotificationContext {
  readonly provider: ProviderId;
  readonly notificationId: string;
  readonly receivedAt: Date;
  /**
   * For a payment notification: the payment's row, already locked FOR UPDATE in `tx` by the
   * statement that stored the id (so the apply need not read it again). Absent for refunds.
   */
  readonly payment?: LockedPayment;
}

/**
 * What the lifecycle made of a report.
 * - `applied`: something changed; committed, acknowledged.
 * - `ignored`: nothing to change (already in that state, a late failure after a capture, a
 *   payment we do not know); committed with the id stored, acknowledged, so the provider stops.
 * - `retry_later`: the report cannot be applied yet and the provider should send it again (e.g.
 *   it names a payment whose row is not committed yet); rolled back — the id is not stored — and
 *   answered with the provider's "not accepted", so it retries.
 * An exception is a failure: rolled back, answered so the provider retries.
 */
export type EffectOutcome =
  | { readonly code: "applied"; readonly detail?: string }
  | { readonly code: "ignored"; readonly reason: string }
  | { readonly code: "retry_later"; readonly reason: string };
