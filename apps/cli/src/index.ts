/** @tributary/cli: the `tributary` command (src/main.ts); its stack start-up for scripts and tests. */
export { ShutdownList, stackUp } from "./stack/stack-up.js";
export type { StackUpOptions } from "./stack/stack-up.js";
export { readStackState, stackStatePath } from "./stack/stack-state.js";
export type { StackServiceState, StackState } from "./stack/stack-state.js";
