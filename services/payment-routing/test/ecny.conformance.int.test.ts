import { startSandbox } from "@tributary/provider-sandbox";
import { providerConformanceSuite } from "../src/adapters/providers/conformance.js";
import { createEcnyAdapter } from "../src/adapters/providers/ecny/client.js";

// The e-CNY adapter against the sandbox's generic HMAC JSON API under /ecny/v1.
providerConformanceSuite({
  sandboxProvider: "ecny",
  channel: "web",
  startSandbox,
  createAdapter: (credentials, { timeoutMs }) => createEcnyAdapter({ ...credentials.ecny, timeoutMs }),
});
