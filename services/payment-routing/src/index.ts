/**
 * @tributary/payment-routing: which rail a payment takes and how it gets there. Work in progress
 * (issue "Payment routing"): so far the routing policy (pure domain) and the provider adapters.
 * The service itself (gRPC, lifecycle, webhooks) is not built yet.
 */
export {};
