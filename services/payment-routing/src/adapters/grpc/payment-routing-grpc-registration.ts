import { PaymentRoutingService } from "@tributary/contracts/payment/v1/payment_routing_service";
import type { RpcServer } from "@tributary/grpc";
import { paymentRoutingServiceAccess } from "./payment-routing-access.js";
import { paymentRoutingErrorCodes } from "./payment-routing-error-codes.js";
import { createPaymentRoutingHandlers, type PaymentRoutingGrpcDeps } from "./payment-routing-handlers.js";

/**
 * What the composition root hands `runtime.serveGrpc({ register })`: adds PaymentRoutingService
 * with its handlers, scopes and error table to the server.
 *
 * @example
 * await runtime.serveGrpc({ address, tokens, register: createPaymentRoutingGrpcRegistration(deps) });
 */
export function createPaymentRoutingGrpcRegistration(deps: PaymentRoutingGrpcDeps): (server: RpcServer) => void {
  const handlers = createPaymentRoutingHandlers(deps);
  return (server) => {
    server.addService(PaymentRoutingService, handlers, { access: paymentRoutingServiceAccess, errors: paymentRoutingErrorCodes });
  };
}
