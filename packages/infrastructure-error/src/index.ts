/**
 * @tributary/infrastructure-error: the one place that decides whether an error means "a
 * dependency is down, try again later" (Postgres, Kafka, the network) rather than "this request
 * or message is bad". The idempotent consumer uses it to keep such messages out of the DLQ; the
 * gRPC edge uses it to answer UNAVAILABLE (retryable) instead of INTERNAL. Transaction conflicts
 * (serialization failure, deadlock) are a second, separate class: retry the transaction, but the
 * database is up, so they are not "unavailable".
 */
export { InfrastructureError, isInfrastructureError } from "./is-infrastructure-error.js";
export { isTransactionConflict } from "./is-transaction-conflict.js";
