import { err, ok, type Result } from "@tributary/result";
import { decide, type DecideError } from "../domain/decide.js";
import { evolveAll } from "../domain/evolve.js";
import type { Order } from "../domain/order.js";
import type { OrderCommand } from "../domain/order-command.js";
import type { OrderEvent } from "../domain/order-event.js";
import type { OrderDeps, Tx } from "./ports.js";

/** The order after a command, and the events it produced (none when it was already done). */
export interface CommandOutcome {
  readonly order: Order;
  readonly events: readonly OrderEvent[];
}

/**
 * Load → decide → persist + outbox for a command on an existing order, in the caller's
 * transaction. The row is locked first, so two commands on one order apply one after the
 * other; a refused command writes nothing.
 */
export async function executeOrderCommand(
  deps: OrderDeps,
  tx: Tx,
  orderId: string,
  command: Exclude<OrderCommand, { type: "place_order" }>,
): Promise<Result<CommandOutcome, DecideError>> {
  const order = await deps.store.load(tx, orderId, { forUpdate: true });
  if (order === undefined) {
    return err({ code: "order_not_found", message: `order ${orderId} does not exist`, orderId });
  }
  const decision = decide(order, command);
  if (!decision.ok) {
    return decision;
  }
  if (decision.value.length === 0) {
    return ok({ order, events: [] });
  }
  const next = evolveAll(order, decision.value);
  if (next.status === "none") {
    throw new Error(`order ${orderId} vanished while applying ${command.type}`);
  }
  await deps.store.save(tx, next, decision.value);
  await deps.outbox.appendEvents(tx, [{ order: next, events: decision.value }]);
  return ok({ order: next, events: decision.value });
}
