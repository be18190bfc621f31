/**
 * The ESM loader hook, for `node --import @tributary/telemetry/register dist/main.js`.
 * OpenTelemetry instrumentations patch modules as they load; under ESM that needs
 * import-in-the-middle's loader hook, registered before the service's first import.
 * Importing this module has that side effect and nothing else.
 */
import { register } from "node:module";

register("@opentelemetry/instrumentation/hook.mjs", import.meta.url);
