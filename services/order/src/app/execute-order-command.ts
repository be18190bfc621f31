import { err, ok, type Result } from "@tributary/result";
import { decide, type DecideError } from "../domain/decide.js";
import { evolveAll } from "../domain/evolve.js";
import type { Order } from "../domain/order.js";
import type { OrderCommand } from "../domain/order-command.js";
import type { OrderEvent } from "../domain/order-event.js";
import { mayActForMerchant, orderNotFound, type MerchantAccess } from "./merchant-access.js";
import type { OrderDeps, Tx } from "./ports.js";

/** The order after a command, and the events it produced (none when it was already done). */
export interface CommandOutcome {
  readonly order: Order;
  readonly events: readonly OrderEvent[];
}

/**
 * Load → decide → persist + outbox for a command on an existing order, in the caller's
 * transaction. The row is locked first, so two commands on one order apply one after the
 * other; a refused command writes nothing. For commands no caller sends on a merchant's behalf
 * (payment outcomes from `payments.v1`); a caller's command goes through
 * {@link executeMerchantCommand}.
 */
export async function executeOrderCommand(
  deps: OrderDeps,
  tx: Tx,
  orderId: string,
  command: Exclude<OrderCommand, { type: "place_order" }>,
): Promise<Result<CommandOutcome, DecideError>> {
  const order = await deps.store.load(tx, orderId, { forUpdate: true });
  return order === undefined ? err(orderNotFound(orderId)) : applyCommand(deps, tx, order, command);
}

/**
 * {@link executeOrderCommand} for a caller acting for some merchants (CancelOrder,
 * RequestRefund): an order of another merchant is `order_not_found`, exactly like a missing
 * one, and is checked before `decide`, so not even its status leaks through an
 * `illegal_transition`.
 */
export async function executeMerchantCommand(
  deps: OrderDeps,
  tx: Tx,
  orderId: string,
  command: Exclude<OrderCommand, { type: "place_order" }>,
  access: MerchantAccess,
): Promise<Result<CommandOutcome, DecideError>> {
  const order = await deps.store.load(tx, orderId, { forUpdate: true });
  if (order === undefined || !mayActForMerchant(access, order.merchantId)) {
    return err(orderNotFound(orderId));
  }
  return applyCommand(deps, tx, order, command);
}

async function applyCommand(
  deps: OrderDeps,
  tx: Tx,
  order: Order,
  command: Exclude<OrderCommand, { type: "place_order" }>,
): Promise<Result<CommandOutcome, DecideError>> {
  const decision = decide(order, command);
  if (!decision.ok) {
    return decision;
  }
  if (decision.value.length === 0) {
    return ok({ order, events: [] });
  }
  const next = evolveAll(order, decision.value);
  if (next.status === "none") {
    throw new Error(`order ${order.orderId} vanished while applying ${command.type}`);
  }
  await deps.store.save(tx, next, decision.value);
  await deps.outbox.appendEvents(tx, [{ order: next, events: decision.value }]);
  return ok({ order: next, events: decision.value });
}
