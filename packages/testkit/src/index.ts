/**
 * Real infrastructure for tests: `kafka()` and `postgres()` return a real broker and a real
 * server — from the environment, from testcontainers when Docker answers, or from the local
 * launchers — behind one interface, so a test runs the same on a laptop and on CI.
 */
export { containerRuntimeAvailable } from "./container-runtime.js";
export { kafka } from "./kafka.js";
export type { KafkaEndpoint } from "./kafka.js";
export { postgres } from "./postgres.js";
export type { PostgresEndpoint } from "./postgres.js";
