/**
 * @tributary/infrastructure-error: the one place that decides whether an error means "a
 * dependency is down, try again later" (Postgres, Kafka, the network) rather than "this request
 * or message is bad". The idempotent consumer uses it to keep such messages out of the DLQ; the
 * gRPC edge uses it to answer UNAVAILABLE (retryable) instead of INTERNAL.
 */
export { InfrastructureError, isInfrastructureError } from "./is-infrastructure-error.js";
