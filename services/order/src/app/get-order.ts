import { err, ok, type Result } from "@tributary/result";
import type { Order } from "../domain/order.js";
import { isOrderId } from "../domain/order-id.js";
import type { InvalidRequestError, OrderNotFoundError } from "../domain/order-error.js";
import type { OrderDeps, Reader } from "./ports.js";

/** Reads one order by id. */
export async function getOrder(
  deps: Pick<OrderDeps, "store">,
  db: Reader,
  orderId: string,
): Promise<Result<Order, InvalidRequestError | OrderNotFoundError>> {
  if (!isOrderId(orderId)) {
    return err({
      code: "invalid_request",
      message: "order_id must be an order id (a UUID)",
      fieldViolations: [{ field: "order_id", description: "must be an order id (a UUID)" }],
    });
  }
  const order = await deps.store.load(db, orderId, { forUpdate: false });
  return order === undefined
    ? err({ code: "order_not_found", message: `order ${orderId} does not exist`, orderId })
    : ok(order);
}
