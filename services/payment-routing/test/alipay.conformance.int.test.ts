import { startSandbox } from "@tributary/provider-sandbox";
import { createAlipayAdapter } from "../src/adapters/providers/alipay/client.js";
import { providerConformanceSuite } from "../src/adapters/providers/conformance.js";

// The Alipay adapter against the sandbox's Alipay gateway: RSA2 both ways, QR (precreate) payments.
providerConformanceSuite({
  sandboxProvider: "alipay",
  channel: "web",
  startSandbox,
  createAdapter: (credentials, { timeoutMs }) => createAlipayAdapter({ ...credentials.alipay, timeoutMs }),
  quirks: {
    // A precreated QR trade exists at Alipay only once scanned; closed unscanned, it is "not exist".
    closedUnpaidQueriesAsPending: true,
    // trade_status_sync for a refund carries refund_fee, the total refunded so far.
    refundNotificationCarriesTotalOnly: true,
  },
});
