import type { Order } from "../domain/order.js";
import type { FieldViolation } from "../domain/order-error.js";
import type { PlaceOrderInput } from "../domain/place-order-input.js";
import { createOrder } from "./create-order.js";
import type { OrderDeps, Tx } from "./ports.js";

/** What the intake did with one `OrderPlaced`. */
export type PlacedOrderOutcome =
  | { readonly kind: "accepted"; readonly order: Order }
  | { readonly kind: "duplicate"; readonly order: Order }
  | { readonly kind: "rejected"; readonly reasons: readonly FieldViolation[] };

/**
 * The Kafka intake's use case: the same create as `CreateOrder`, inside the consumer's
 * transaction (which also records the event in the inbox). An accepted order leaves
 * `OrderAccepted` in the outbox; a refused one leaves `OrderRejected` with every reason — so the
 * upstream system always learns the outcome — and nothing else. A repeated identical order
 * changes nothing.
 */
export async function acceptPlacedOrder(deps: OrderDeps, tx: Tx, input: PlaceOrderInput): Promise<PlacedOrderOutcome> {
  const result = await createOrder(deps, tx, input);
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
