import type { Money } from "@tributary/money";
import { ok, type Result } from "@tributary/result";
import { decide, type DecideError } from "../domain/decide.js";
import { noOrder, type PaymentProvider } from "../domain/order.js";
import type { OrderCommand } from "../domain/order-command.js";
import type { OrderEvent } from "../domain/order-event.js";
import { executeOrderCommand } from "./execute-order-command.js";
import type { OrderDeps, Tx } from "./ports.js";

/** What payment-routing reported about an order's payment or refund (from `payments.v1`). */
export type PaymentOutcome =
  | {
      readonly type: "record_payment_captured";
      readonly paymentId: string;
      readonly merchantId: string;
      readonly provider: PaymentProvider;
      readonly providerTransactionId: string | undefined;
      readonly amount: Money;
    }
  | { readonly type: "record_payment_failed"; readonly paymentId: string; readonly reason: string }
  | { readonly type: "record_refund_completed"; readonly refundRef: string; readonly amount: Money }
  | { readonly type: "record_refund_failed"; readonly refundRef: string; readonly reason: string };

type PaymentCommand = Extract<
  OrderCommand,
  { type: "record_payment_captured" | "record_payment_failed" | "record_refund_completed" | "record_refund_failed" }
>;

function commandOf(orderId: string, outcome: PaymentOutcome, at: Date): PaymentCommand {
  return outcome.type === "record_payment_captured" ? { ...outcome, orderId, at } : { ...outcome, at };
}

/**
 * Moves an order forward on a payment outcome, in the consumer's transaction (which also writes
 * the inbox row, so one event has one effect). Returns the events it recorded: none for an
 * outcome already applied; `capture_refund_requested` for a capture no order takes (cancelled,
 * closed unpaid, paid by another payment, or no such order), recorded once per payment id. An
 * outcome the lifecycle forbids is refused with the reason and changes nothing.
 */
export async function recordPaymentOutcome(
  deps: OrderDeps,
  tx: Tx,
  orderId: string,
  outcome: PaymentOutcome,
): Promise<Result<readonly OrderEvent[], DecideError>> {
  const command = commandOf(orderId, outcome, deps.clock());
  const result = await executeOrderCommand(deps, tx, orderId, command);
  if (result.ok) return ok(result.value.events);
  if (result.error.code !== "order_not_found" || command.type !== "record_payment_captured") return result;
  // No order row to lock: the payment id's key in the unowned-capture table is what makes a
  // redelivered or re-sent capture a no-op.
  const decision = decide(noOrder, command);
  if (!decision.ok) return decision;
  const requests = decision.value.flatMap((event) => (event.type === "capture_refund_requested" ? [event] : []));
  if (requests.length !== decision.value.length) {
    throw new Error(`a capture for no order decided ${decision.value.map((e) => e.type).join(", ")}`);
  }
  const recorded = await deps.store.insertUnownedCapturesIfAbsent(tx, requests);
  if (recorded.length > 0) await deps.outbox.appendUnownedCaptures(tx, recorded);
  return ok(recorded);
}
