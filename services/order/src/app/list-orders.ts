import { err, ok, type Result } from "@tributary/result";
import { ORDER_STATUSES, type Order, type OrderStatus } from "../domain/order.js";
import { isOrderId } from "../domain/order-id.js";
import type { FieldViolation, InvalidRequestError } from "../domain/order-error.js";
import { checkMerchantAccess, type MerchantAccess, type MerchantAccessDeniedError } from "./merchant-access.js";
import type { ListCursor, OrderDeps, Reader } from "./ports.js";

/** Page size when the caller asks for 0 (the proto default). */
export const DEFAULT_PAGE_SIZE = 50;
/** Largest page a caller may ask for. */
export const MAX_PAGE_SIZE = 500;

/** A ListOrders request as the adapter hands it over; statuses use our names (`""` = unspecified). */
export interface ListOrdersInput {
  readonly merchantId: string;
  readonly statuses: readonly string[];
  readonly createdFrom: Date | undefined;
  readonly createdTo: Date | undefined;
  readonly pageSize: number;
  readonly pageToken: string;
}

/** One page, newest first, and the token for the next one (`""` on the last page). */
export interface OrderPage {
  readonly orders: readonly Order[];
  readonly nextPageToken: string;
}

function isStatus(text: string): text is OrderStatus {
  return (ORDER_STATUSES as readonly string[]).includes(text);
}

/**
 * The page token: the position of the last order returned, (created_at, order_id), as base64url
 * JSON. Opaque to callers; keyset paging means a page never repeats or skips an order when new
 * orders arrive in between.
 */
export function encodePageToken(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify({ t: cursor.createdAt.toISOString(), i: cursor.orderId }), "utf8").toString(
    "base64url",
  );
}

/** Reads a token made by {@link encodePageToken}; `undefined` when it is not one. */
export function decodePageToken(token: string): ListCursor | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const { t, i } = parsed as { t?: unknown; i?: unknown };
    if (typeof t !== "string" || typeof i !== "string" || !isOrderId(i)) return undefined;
    const createdAt = new Date(t);
    return Number.isNaN(createdAt.getTime()) ? undefined : { createdAt, orderId: i };
  } catch {
    return undefined;
  }
}

/**
 * Lists a merchant's orders by status and creation time, newest first, with keyset paging. The
 * merchant is required for every caller (there is no "all my merchants" listing); a merchant
 * outside `access` is `merchant_access_denied`, checked after the request is validated and
 * before anything is read.
 */
export async function listOrders(
  deps: Pick<OrderDeps, "store">,
  db: Reader,
  input: ListOrdersInput,
  access: MerchantAccess,
): Promise<Result<OrderPage, InvalidRequestError | MerchantAccessDeniedError>> {
  const violations: FieldViolation[] = [];
  if (input.merchantId.trim() === "") violations.push({ field: "merchant_id", description: "is required" });
  const statuses: OrderStatus[] = [];
  input.statuses.forEach((status, index) => {
    if (isStatus(status)) statuses.push(status);
    else violations.push({ field: `statuses[${index}]`, description: `${status || "unspecified"} is not an order status` });
  });
  if (!Number.isInteger(input.pageSize) || input.pageSize < 0 || input.pageSize > MAX_PAGE_SIZE) {
    violations.push({ field: "page_size", description: `must be between 1 and ${MAX_PAGE_SIZE} (0 means ${DEFAULT_PAGE_SIZE})` });
  }
  if (input.createdFrom !== undefined && input.createdTo !== undefined && input.createdFrom >= input.createdTo) {
    violations.push({ field: "created_to", description: "must be after created_from" });
  }
  const after = input.pageToken === "" ? undefined : decodePageToken(input.pageToken);
  if (input.pageToken !== "" && after === undefined) {
    violations.push({ field: "page_token", description: "is not a token from a previous ListOrders response" });
  }
  if (violations.length > 0) {
    return err({ code: "invalid_request", message: "the list request is invalid", fieldViolations: violations });
  }
  const permitted = checkMerchantAccess(access, input.merchantId);
  if (!permitted.ok) {
    return permitted;
  }
  const limit = input.pageSize === 0 ? DEFAULT_PAGE_SIZE : input.pageSize;
  const rows = await deps.store.list(db, {
    merchantId: input.merchantId,
    statuses,
    createdFrom: input.createdFrom,
    createdTo: input.createdTo,
    after,
    limit: limit + 1,
  });
  const orders = rows.slice(0, limit);
  const last = orders[orders.length - 1];
  const nextPageToken =
    rows.length > limit && last !== undefined ? encodePageToken({ createdAt: last.createdAt, orderId: last.orderId }) : "";
  return ok({ orders, nextPageToken });
}
