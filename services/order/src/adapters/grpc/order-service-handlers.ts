import type { OrderService } from "@tributary/contracts/order/v1/order_service";
import { grantOf, type ServiceImplementation } from "@tributary/grpc";
import { ok } from "@tributary/result";
import type { Pool } from "pg";
import { cancelOrder } from "../../app/cancel-order.js";
import { getOrder } from "../../app/get-order.js";
import { listOrders } from "../../app/list-orders.js";
import { checkMerchantAccess } from "../../app/merchant-access.js";
import type { OrderDeps } from "../../app/ports.js";
import { requestRefund } from "../../app/request-refund.js";
import type { CreateOrderBatcher } from "../db/create-order-batcher.js";
import { inTransaction } from "../db/in-transaction.js";
import type { OrderServiceError } from "./order-error-codes.js";
import { moneyInput, optionalDate, statusName, toOrderMessage, toPlaceOrderInput } from "../proto/order-messages.js";

/**
 * OrderService over the use cases: proto in → domain input, the use case in one transaction,
 * domain out → proto. Errors are returned as values and mapped by `orderErrorCodes`. Creates go
 * through the batcher (group commit); the other writes run one transaction each. Every call
 * acts for the merchants the caller's token is bound to (`grants.merchants`, none if absent):
 * CreateOrder and ListOrders for another merchant are `merchant_access_denied`, and another
 * merchant's order is `order_not_found` to GetOrder, CancelOrder and RequestRefund.
 */
export function createOrderServiceHandlers(
  pool: Pool,
  deps: OrderDeps,
  creates: CreateOrderBatcher,
): ServiceImplementation<typeof OrderService, OrderServiceError> {
  return {
    async createOrder(request, context) {
      // Before the batcher: a refused create must not even learn whether the reference exists.
      const permitted = checkMerchantAccess(grantOf(context.principal, "merchants"), request.merchantId);
      if (!permitted.ok) return permitted;
      const result = await creates.create(toPlaceOrderInput(request));
      return result.ok ? ok({ order: toOrderMessage(result.value.order), created: result.value.created }) : result;
    },

    async getOrder(request, context) {
      const result = await getOrder(deps, pool, request.orderId, grantOf(context.principal, "merchants"));
      return result.ok ? ok({ order: toOrderMessage(result.value) }) : result;
    },

    async listOrders(request, context) {
      const result = await listOrders(
        deps,
        pool,
        {
          merchantId: request.merchantId,
          statuses: request.statuses.map(statusName),
          createdFrom: optionalDate(request.createdFrom),
          createdTo: optionalDate(request.createdTo),
          pageSize: request.pageSize,
          pageToken: request.pageToken,
        },
        grantOf(context.principal, "merchants"),
      );
      return result.ok
        ? ok({ orders: result.value.orders.map(toOrderMessage), nextPageToken: result.value.nextPageToken })
        : result;
    },

    async cancelOrder(request, context) {
      const access = grantOf(context.principal, "merchants");
      const result = await inTransaction(pool, (tx) =>
        cancelOrder(deps, tx, { orderId: request.orderId, reason: request.reason }, access),
      );
      return result.ok ? ok({ order: toOrderMessage(result.value.order) }) : result;
    },

    async requestRefund(request, context) {
      const access = grantOf(context.principal, "merchants");
      const result = await inTransaction(pool, (tx) =>
        requestRefund(
          deps,
          tx,
          {
            orderId: request.orderId,
            refundRef: request.refundRef,
            amount: moneyInput(request.amount),
            reason: request.reason,
          },
          access,
        ),
      );
      return result.ok ? ok({ order: toOrderMessage(result.value.order) }) : result;
    },
  };
}
