import { err, ok, type Result } from "@tributary/result";
import type { Order } from "../domain/order.js";
import { isOrderId } from "../domain/order-id.js";
import type { InvalidRequestError, OrderNotFoundError } from "../domain/order-error.js";
import { mayActForMerchant, orderNotFound, type MerchantAccess } from "./merchant-access.js";
import type { OrderDeps, Reader } from "./ports.js";

/**
 * Reads one order by id. An order of a merchant outside `access` is `order_not_found`, the
 * same answer as for an id that does not exist, so its existence is not revealed.
 */
export async function getOrder(
  deps: Pick<OrderDeps, "store">,
  db: Reader,
  orderId: string,
  access: MerchantAccess,
): Promise<Result<Order, InvalidRequestError | OrderNotFoundError>> {
  if (!isOrderId(orderId)) {
    return err({
      code: "invalid_request",
      message: "order_id must be an order id (a UUID)",
      fieldViolations: [{ field: "order_id", description: "must be an order id (a UUID)" }],
    });
  }
  const order = await deps.store.load(db, orderId, { forUpdate: false });
  return order === undefined || !mayActForMerchant(access, order.merchantId) ? err(orderNotFound(orderId)) : ok(order);
}
