import { err, type Result } from "@tributary/result";
import type { DecideError } from "../domain/decide.js";
import { isOrderId } from "../domain/order-id.js";
import type { FieldViolation, InvalidRequestError } from "../domain/order-error.js";
import { executeMerchantCommand, type CommandOutcome } from "./execute-order-command.js";
import type { MerchantAccess } from "./merchant-access.js";
import type { OrderDeps, Tx } from "./ports.js";

/** Input of {@link cancelOrder}. */
export interface CancelOrderInput {
  readonly orderId: string;
  readonly reason: string;
}

/**
 * Cancels an order that is still waiting for payment, emitting `OrderCancelled`. Cancelling a
 * cancelled order returns it unchanged; a paid or failed one is an `illegal_transition`. An
 * order of a merchant outside `access` is `order_not_found`, as if it did not exist.
 */
export async function cancelOrder(
  deps: OrderDeps,
  tx: Tx,
  input: CancelOrderInput,
  access: MerchantAccess,
): Promise<Result<CommandOutcome, DecideError | InvalidRequestError>> {
  const violations: FieldViolation[] = [];
  if (!isOrderId(input.orderId)) violations.push({ field: "order_id", description: "must be an order id (a UUID)" });
  if (input.reason.length > 256) violations.push({ field: "reason", description: "must be at most 256 characters" });
  if (violations.length > 0) {
    return err({ code: "invalid_request", message: "the cancel request is invalid", fieldViolations: violations });
  }
  return executeMerchantCommand(
    deps,
    tx,
    input.orderId,
    { type: "cancel_order", reason: input.reason, at: deps.clock() },
    access,
  );
}
