import { startSandbox } from "@tributary/provider-sandbox";
import { providerConformanceSuite } from "../src/adapters/providers/conformance.js";
import { createJdPayAdapter } from "../src/adapters/providers/jdpay/client.js";

// The JD Pay adapter against the sandbox's generic HMAC JSON API under /jdpay/v1.
providerConformanceSuite({
  sandboxProvider: "jdpay",
  channel: "web",
  startSandbox,
  createAdapter: (credentials, { timeoutMs }) => createJdPayAdapter({ ...credentials.jdpay, timeoutMs }),
});
