import type { MethodAccess } from "@tributary/grpc";
import type { PaymentRoutingService } from "@tributary/contracts/payment/v1/payment_routing_service";

/** Scope of a checkout: which rails it may show (ListAvailableMethods) and why (PreviewRoute). */
export const ROUTING_PREVIEW = "routing:preview";
/** Scope of admin and finance readers of payments (GetPayment, ListPayments). */
export const PAYMENTS_READ = "payments:read";
/** Scope of operators who read the routing policy and provider health. */
export const ROUTING_READ = "routing:read";
/** Scope of operators who change the routing policy or resume a paused roll-out. */
export const ROUTING_ADMIN = "routing:admin";

/**
 * Which scopes each PaymentRoutingService method requires (every listed one); a caller without
 * them gets PERMISSION_DENIED. Besides the scope, calls about a merchant act only for the merchants
 * the token is bound to, and the policy methods need a token bound to all merchants (the handlers
 * check both).
 */
export const paymentRoutingServiceAccess: { readonly [K in keyof (typeof PaymentRoutingService)["method"]]: MethodAccess } = {
  listAvailableMethods: [ROUTING_PREVIEW],
  previewRoute: [ROUTING_PREVIEW],
  getPayment: [PAYMENTS_READ],
  listPayments: [PAYMENTS_READ],
  getRoutingPolicy: [ROUTING_READ],
  listProviderHealth: [ROUTING_READ],
  updateRoutingPolicy: [ROUTING_ADMIN],
  resumeRollout: [ROUTING_ADMIN],
};
