/** @tributary/cli: the `tributary` command (src/main.ts); its stack start-up for scripts, tests and benches. */
export { ShutdownList } from "./stack/shutdown-list.js";
export { stackUp } from "./stack/stack-up.js";
export type { StackUpOptions } from "./stack/stack-up.js";
export { readStackState, stackStatePath } from "./stack/stack-state.js";
export type { StackServiceState, StackState } from "./stack/stack-state.js";
// The routing end-to-end bench starts payment-routing exactly as the stack does.
export { startOrderProcess, startPaymentRoutingProcess, startSettlementProcess } from "./stack/stack-services.js";
export type { PaymentRoutingProcessOptions, ReconciliationToken, ServiceProcessOptions, StackContext, StackService } from "./stack/stack-services.js";
