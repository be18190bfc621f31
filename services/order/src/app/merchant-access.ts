import { err, ok, type Result } from "@tributary/result";
import type { OrderNotFoundError } from "../domain/order-error.js";

/**
 * The merchants the caller of a use case may act for, as plain data: `"all"` (platform
 * operators, internal tools) or exactly these ids. The gRPC adapter takes it from the caller's
 * credential; the use cases check every order and merchant they touch against it.
 */
export type MerchantAccess = "all" | readonly string[];

/** The caller asked for a merchant its credential is not bound to (create, list). */
export interface MerchantAccessDeniedError {
  readonly code: "merchant_access_denied";
  readonly message: string;
  readonly merchantId: string;
}

/** Whether `access` covers `merchantId`; an empty id is covered only by `"all"`. */
export function mayActForMerchant(access: MerchantAccess, merchantId: string): boolean {
  return access === "all" || access.includes(merchantId);
}

/**
 * Refuses a request naming a merchant the caller may not act for. Used where the merchant is
 * the caller's own input (CreateOrder, ListOrders), so saying "not yours" reveals nothing.
 */
export function checkMerchantAccess(access: MerchantAccess, merchantId: string): Result<void, MerchantAccessDeniedError> {
  return mayActForMerchant(access, merchantId)
    ? ok(undefined)
    : err({
        code: "merchant_access_denied",
        message: `this credential may not act for merchant ${merchantId}`,
        merchantId,
      });
}

/**
 * The answer for an order that does not exist — and for one of a merchant the caller may not
 * act for, which must be indistinguishable from it (same code, same message), so a caller
 * cannot probe which order ids exist at other merchants.
 */
export function orderNotFound(orderId: string): OrderNotFoundError {
  return { code: "order_not_found", message: `order ${orderId} does not exist`, orderId };
}
