import type { Money } from "@tributary/money";
import { assertNever, ok, type Result } from "@tributary/result";
import { decide, decideCaptureRefundOutcome, type DecideError } from "../domain/decide.js";
import { isCaptureRefundRef, noOrder, type PaymentProvider } from "../domain/order.js";
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
 * closed unpaid, paid by another payment, or no such order), recorded once per payment id;
 * `capture_refund_completed` / `capture_refund_failed` for payment-routing's reply to such a
 * refund (also when the capture named no order), which leaves the order as it was. An outcome the
 * lifecycle forbids is refused with the reason and changes nothing.
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
  if (result.error.code !== "order_not_found") return result;
  switch (command.type) {
    case "record_payment_captured":
      return recordCaptureForNoOrder(deps, tx, command);
    case "record_refund_completed":
    case "record_refund_failed":
      return isCaptureRefundRef(command.refundRef) ? recordCaptureRefundForNoOrder(deps, tx, orderId, command) : result;
    case "record_payment_failed":
      return result;
    default:
      return assertNever(command, "payment command");
  }
}

async function recordCaptureForNoOrder(
  deps: OrderDeps,
  tx: Tx,
  command: Extract<PaymentCommand, { type: "record_payment_captured" }>,
): Promise<Result<readonly OrderEvent[], DecideError>> {
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

/**
 * Payment-routing's reply to the refund of a capture that named no order. With no order row to
 * lock, the capture's own row is locked, so a redelivery, a re-send under a new event id, or a
 * concurrent copy is decided after the first one committed and records nothing.
 */
async function recordCaptureRefundForNoOrder(
  deps: OrderDeps,
  tx: Tx,
  orderId: string,
  command: Extract<PaymentCommand, { type: "record_refund_completed" | "record_refund_failed" }>,
): Promise<Result<readonly OrderEvent[], DecideError>> {
  const recorded = await deps.store.loadUnownedCapture(tx, command.refundRef, { forUpdate: true });
  const decision = decideCaptureRefundOutcome({ orderId, status: "none" }, recorded, command);
  if (!decision.ok) return decision;
  await deps.store.recordCaptureRefundOutcomes(tx, decision.value);
  return decision;
}
