import { startSandbox } from "@tributary/provider-sandbox";
import { createAlipayAdapter } from "../src/adapters/providers/alipay/client.js";
import { providerConformanceSuite } from "../src/adapters/providers/conformance.js";

// The Alipay adapter's mini-program product: alipay.trade.create for a named buyer (buyer_id),
// whose trade_no the mini-program pays with my.tradePay.
providerConformanceSuite({
  sandboxProvider: "alipay",
  channel: "mini_program",
  providerBuyerId: "2088102146225135",
  startSandbox,
  createAdapter: (credentials, { timeoutMs }) => createAlipayAdapter({ ...credentials.alipay, timeoutMs }),
  quirks: {
    refundNotificationCarriesTotalOnly: true,
  },
});
