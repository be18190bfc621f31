import type { Order } from "../domain/order.js";
import type { FieldViolation } from "../domain/order-error.js";
import type { PlaceOrderInput } from "../domain/place-order-input.js";
import { createOrders, type CreateOrderResult } from "./create-order.js";
import type { OrderDeps, Tx } from "./ports.js";

/** What the intake did with one `OrderPlaced`. */
export type PlacedOrderOutcome =
  | { readonly kind: "accepted"; readonly order: Order }
  | { readonly kind: "duplicate"; readonly order: Order }
  | { readonly kind: "rejected"; readonly reasons: readonly FieldViolation[] };

/**
 * The Kafka intake's use case for a run of `OrderPlaced` events: the same create as
 * `CreateOrder` (`createOrders`, so one insert and one outbox append for all the accepted ones),
 * inside the consumer's transaction (which also records the events in the inbox). Each input is
 * decided on its own and answered in order: an accepted order leaves `OrderAccepted` in the
 * outbox; a refused one leaves `OrderRejected` with every reason — so the upstream system always
 * learns the outcome — and nothing else, without affecting its neighbours. A repeated identical
 * order changes nothing.
 */
export async function acceptPlacedOrders(
  deps: OrderDeps,
  tx: Tx,
  inputs: readonly PlaceOrderInput[],
): Promise<PlacedOrderOutcome[]> {
  const results = await createOrders(deps, tx, inputs);
  const outcomes: PlacedOrderOutcome[] = [];
  for (const [index, result] of results.entries()) {
    const input = inputs[index];
    if (input === undefined) throw new Error(`createOrders answered input ${index}, which does not exist`);
    outcomes.push(await outcomeOf(deps, tx, input, result));
  }
  return outcomes;
}

async function outcomeOf(deps: OrderDeps, tx: Tx, input: PlaceOrderInput, result: CreateOrderResult): Promise<PlacedOrderOutcome> {
  if (result.ok) {
    return result.value.created
      ? { kind: "accepted", order: result.value.order }
      : { kind: "duplicate", order: result.value.order };
  }
  const error = result.error;
  const reasons =
    error.code === "order_conflict"
      ? error.fieldViolations.map((v) => ({
          field: v.field,
          description: `${v.description} (order ${error.orderId} has this merchant_order_ref)`,
        }))
      : error.fieldViolations;
  await deps.outbox.appendRejected(tx, {
    merchantId: input.merchantId,
    merchantOrderRef: input.merchantOrderRef,
    reasons,
  });
  return { kind: "rejected", reasons };
}
