import { err, type Result } from "@tributary/result";
import type { DecideError } from "../domain/decide.js";
import { isOrderId } from "../domain/order-id.js";
import type { InvalidRequestError } from "../domain/order-error.js";
import { validateRefund, type RefundInput } from "../domain/validate-refund.js";
import { executeMerchantCommand, type CommandOutcome } from "./execute-order-command.js";
import type { MerchantAccess } from "./merchant-access.js";
import type { OrderDeps, Tx } from "./ports.js";

/**
 * Requests a full or partial refund of a paid order, emitting `OrderRefundRequested` for
 * payment-routing. Never more than paid minus already refunded; the same `refund_ref` with the
 * same amount returns the order unchanged, with another amount it is a `refund_ref_conflict`.
 * An order of a merchant outside `access` is `order_not_found`, as if it did not exist.
 */
export async function requestRefund(
  deps: OrderDeps,
  tx: Tx,
  input: RefundInput,
  access: MerchantAccess,
): Promise<Result<CommandOutcome, DecideError | InvalidRequestError>> {
  const validated = validateRefund(input);
  if (!validated.ok) {
    return validated;
  }
  if (!isOrderId(input.orderId)) {
    return err({
      code: "invalid_request",
      message: "the refund request is invalid",
      fieldViolations: [{ field: "order_id", description: "must be an order id (a UUID)" }],
    });
  }
  const refund = validated.value;
  return executeMerchantCommand(
    deps,
    tx,
    refund.orderId,
    { type: "request_refund", refundRef: refund.refundRef, amount: refund.amount, reason: refund.reason, at: deps.clock() },
    access,
  );
}
