import { startSandbox } from "@tributary/provider-sandbox";
import { providerConformanceSuite } from "../src/adapters/providers/conformance.js";
import { createWechatAdapter } from "../src/adapters/providers/wechat/client.js";

// The WeChat Pay v3 adapter against the sandbox's API v3: signed both ways, Native (QR) payments,
// AEAD_AES_256_GCM callbacks.
providerConformanceSuite({
  sandboxProvider: "wechat",
  channel: "web",
  startSandbox,
  createAdapter: (credentials, { timeoutMs }) => createWechatAdapter({ ...credentials.wechat, timeoutMs }),
  quirks: {
    // trade_state REFUND ("转入退款") does not say whether everything was refunded.
    fullRefundQueriesAsPartiallyRefunded: true,
  },
});
