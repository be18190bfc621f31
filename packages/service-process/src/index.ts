/**
 * @tributary/service-process: one service, one OS process, tied to the process that started it
 * (the local stack, the end-to-end bench).
 */
export { ServiceStartError, startOnFreshPorts, startServiceProcess } from "./service-process.js";
export type { CpuTime, ServiceExit, ServiceProcess, ServiceProcessOptions } from "./service-process.js";
export { freeLocalPort } from "./free-port.js";
