import type { MethodAccess } from "@tributary/grpc";
import type { OrderService } from "@tributary/contracts/order/v1/order_service";

/** Scope that lets upstream order systems create, cancel and refund orders. */
export const ORDERS_WRITE = "orders:write";
/** Scope that lets read-only clients (and upstream systems, if given it) read orders. */
export const ORDERS_READ = "orders:read";

/** Which scope each OrderService method requires; a caller without it gets PERMISSION_DENIED. */
export const orderServiceAccess: { readonly [K in keyof (typeof OrderService)["method"]]: MethodAccess } = {
  createOrder: [ORDERS_WRITE],
  cancelOrder: [ORDERS_WRITE],
  requestRefund: [ORDERS_WRITE],
  getOrder: [ORDERS_READ],
  listOrders: [ORDERS_READ],
};
