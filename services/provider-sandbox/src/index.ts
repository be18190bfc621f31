/**
 * @tributary/provider-sandbox — one process that behaves like Alipay, WeChat Pay, UnionPay,
 * JD Pay and e-CNY on the wire. This file is the whole public surface: start it in-process, and
 * reuse the signing helpers on the merchant side of tests.
 */
export { DEFAULT_KEYS_DIR, startSandbox } from "./sandbox.js";
export type { ProviderCredentials, RunningSandbox, SandboxOptions } from "./sandbox.js";
export { submitAlipayAppOrder } from "./buyer-apps.js";
export type { AlipayAppSubmission } from "./buyer-apps.js";

export { manualClock, offsetClock, systemClock } from "./core/clock.js";
export type { Clock, ManualClock } from "./core/clock.js";
export type { BuyerBehaviour } from "./core/buyer-simulator.js";
export type { LatencyDistribution } from "./core/latency.js";
export type { ProviderFaults } from "./core/faults.js";
export type { BillDiscrepancy } from "./core/bill-discrepancies.js";
export type { DeliveryRecord } from "./core/notification-dispatcher.js";
export type { PaymentRecord, RefundRecord, SandboxProviderName } from "./core/store.js";
export { FEE_SCHEDULES } from "./config/fee-schedules.js";
export { shanghaiDay, shanghaiDayBounds } from "./core/shanghai-time.js";

export { alipaySigningString, rsa2Sign, rsa2Verify } from "./providers/alipay/alipay-signature.js";
export {
  buildWechatAuthorization,
  decryptWechatResource,
  encryptWechatResource,
  wechatResponseMessage,
  wechatVerify,
} from "./providers/wechat/wechat-signature.js";
export type { EncryptedResource } from "./providers/wechat/wechat-signature.js";
export { signUnionpay, unionpaySigningString, verifyUnionpay } from "./providers/unionpay/unionpay-signature.js";
export { hmacRequestMessage, hmacResponseMessage, hmacSign, hmacVerify } from "./providers/hmac-json/hmac-signature.js";
export type { UnionpayAdjustment } from "./providers/unionpay/unionpay-zm-file.js";
export type { WechatBillColumns } from "./providers/wechat/wechat-bill.js";
