import type { Money } from "@tributary/money";
import type { Result } from "@tributary/result";
import type { DecideError } from "../domain/decide.js";
import { executeOrderCommand, type CommandOutcome } from "./execute-order-command.js";
import type { OrderDeps, Tx } from "./ports.js";

/** What payment-routing reported about an order's payment or refund (from `payments.v1`). */
export type PaymentOutcome =
  | { readonly type: "record_payment_captured"; readonly paymentId: string; readonly amount: Money }
  | { readonly type: "record_payment_failed"; readonly paymentId: string; readonly reason: string }
  | { readonly type: "record_refund_completed"; readonly refundRef: string; readonly amount: Money }
  | { readonly type: "record_refund_failed"; readonly refundRef: string; readonly reason: string };

/**
 * Moves an order forward on a payment outcome, in the consumer's transaction (which also writes
 * the inbox row, so one event has one effect). Outcomes already applied return no events; one
 * the lifecycle forbids is refused with the reason and changes nothing.
 */
export async function recordPaymentOutcome(
  deps: OrderDeps,
  tx: Tx,
  orderId: string,
  outcome: PaymentOutcome,
): Promise<Result<CommandOutcome, DecideError>> {
  return executeOrderCommand(deps, tx, orderId, { ...outcome, at: deps.clock() });
}
