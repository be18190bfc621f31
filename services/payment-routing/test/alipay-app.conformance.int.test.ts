import { startSandbox, submitAlipayAppOrder } from "@tributary/provider-sandbox";
import { createAlipayAdapter } from "../src/adapters/providers/alipay/client.js";
import { providerConformanceSuite } from "../src/adapters/providers/conformance.js";

// The Alipay adapter's app product: an alipay.trade.app.pay order string signed by us, which the
// buyer's Alipay app submits (here submitAlipayAppOrder, the sandbox's stand-in for the app SDK).
providerConformanceSuite({
  sandboxProvider: "alipay",
  channel: "app",
  startSandbox,
  createAdapter: (credentials, { timeoutMs }) => createAlipayAdapter({ ...credentials.alipay, timeoutMs }),
  buyerStarts: async (action, credentials) => {
    const orderString = action.kind === "app_params" ? action.params["orderStr"] : undefined;
    if (orderString === undefined) throw new Error(`an Alipay app payment hands the app an orderStr, not ${JSON.stringify(action)}`);
    const submitted = await submitAlipayAppOrder(credentials.alipay.appPayUrl, orderString);
    if (submitted.code !== "10000") throw new Error(`Alipay refused the order string: ${submitted.code} ${submitted.subCode ?? ""}`);
  },
  quirks: {
    // The order string is signed locally: nothing on the wire at create.
    createMakesNoCall: true,
    refundNotificationCarriesTotalOnly: true,
  },
});
