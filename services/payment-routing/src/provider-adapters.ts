import type { ProviderId } from "@tributary/contracts";
import { createAlipayAdapter } from "./adapters/providers/alipay/client.js";
import { createEcnyAdapter } from "./adapters/providers/ecny/client.js";
import { createJdPayAdapter } from "./adapters/providers/jdpay/client.js";
import type { ProviderAdapter } from "./adapters/providers/provider-adapter.js";
import { createUnionpayAdapter, inMemoryUnionpayOrders, type UnionpayOrderMemory, type UnionpayOrderRecord } from "./adapters/providers/unionpay/client.js";
import { unionpayTime } from "./adapters/providers/unionpay/transformers.js";
import { createWechatAdapter } from "./adapters/providers/wechat/client.js";

/**
 * The merchant-side settings of each provider: URLs, ids and keys. The same shape as the
 * provider sandbox's `ProviderCredentials` (what `startSandbox().providers` hands out), so a test
 * passes those straight in; a provider left out gets no adapter and is never routed to.
 */
export interface ProviderSettings {
  readonly alipay?: {
    readonly gatewayUrl: string;
    readonly appId: string;
    readonly pid: string;
    readonly appPrivateKeyPem: string;
    readonly alipayPublicKeyPem: string;
  };
  readonly wechat?: {
    readonly baseUrl: string;
    readonly mchid: string;
    readonly appid: string;
    readonly merchantPrivateKeyPem: string;
    readonly merchantSerial: string;
    readonly platformPublicKeyPem: string;
    readonly platformSerial: string;
    readonly apiV3Key: string;
  };
  readonly unionpay?: {
    readonly backTransUrl: string;
    readonly queryUrl: string;
    readonly merId: string;
    readonly merchantPrivateKeyPem: string;
    readonly merchantCertId: string;
    readonly platformPublicKeyPem: string;
    readonly platformCertId: string;
  };
  readonly jdpay?: { readonly baseUrl: string; readonly merchantId: string; readonly secret: string };
  readonly ecny?: { readonly baseUrl: string; readonly merchantId: string; readonly secret: string };
}

export interface ProviderAdapterOptions {
  /** Per provider request; 10 s unless told. */
  readonly timeoutMs?: number;
  /** Where the UnionPay adapter remembers each order's `txnTime`; {@link paymentIdUnionpayOrders} unless told. */
  readonly unionpayOrders?: UnionpayOrderMemory;
  /** Only these providers get an adapter; all configured ones unless told. */
  readonly only?: readonly ProviderId[];
}

/** One adapter per configured provider, built the way the conformance tests build them. */
export function createProviderAdapters(settings: ProviderSettings, options: ProviderAdapterOptions = {}): ProviderAdapter[] {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const wanted = (provider: ProviderId): boolean => options.only === undefined || options.only.includes(provider);
  const adapters: ProviderAdapter[] = [];
  if (settings.alipay !== undefined && wanted("alipay")) adapters.push(createAlipayAdapter({ ...settings.alipay, timeoutMs }));
  if (settings.wechat !== undefined && wanted("wechat_pay")) adapters.push(createWechatAdapter({ ...settings.wechat, timeoutMs }));
  if (settings.unionpay !== undefined && wanted("unionpay")) {
    adapters.push(createUnionpayAdapter({ ...settings.unionpay, timeoutMs, orders: options.unionpayOrders ?? paymentIdUnionpayOrders() }));
  }
  if (settings.jdpay !== undefined && wanted("jd_pay")) adapters.push(createJdPayAdapter({ ...settings.jdpay, timeoutMs }));
  if (settings.ecny !== undefined && wanted("ecny")) adapters.push(createEcnyAdapter({ ...settings.ecny, timeoutMs }));
  return adapters;
}

/**
 * The UnionPay order memory of the service. ACP finds an order by `orderId` + the `txnTime` of
 * the original request, and the port carries no `txnTime`, so the adapter must remember it — and a
 * memory that forgets on restart, or that another instance does not share, would answer
 * `not_found` for an order that exists. Our payment ids are UUIDv7 (32 hex digits) whose first 48
 * bits are the creation time in ms, so a payment's `txnTime` is that instant (Beijing time, as
 * `unionpayTime`): every instance, before and after a restart, derives the same one, and a query
 * of an id never sent asks UnionPay, which answers "not found" itself. Refunds (and ids of other
 * shapes) are remembered in memory only: after a restart their query is `not_found`, which the
 * worker never takes as a reason to send an accepted refund again.
 */
export function paymentIdUnionpayOrders(): UnionpayOrderMemory {
  const records = inMemoryUnionpayOrders();
  return {
    get: (orderId) => records.get(orderId) ?? txnTimeOfPaymentId(orderId),
    set: (orderId, record) => records.set(orderId, record),
  };
}

/** The record of a UUIDv7 payment id (32 lower-case hex digits, version 7): its creation instant as `txnTime`. */
function txnTimeOfPaymentId(orderId: string): UnionpayOrderRecord | undefined {
  if (!/^[0-9a-f]{12}7[0-9a-f]{19}$/.test(orderId)) return undefined;
  return { txnTime: unionpayTime(new Date(Number.parseInt(orderId.slice(0, 12), 16))) };
}

/** The sandbox's `.keys/keys.json`, the parts the merchant side uses. */
interface SandboxKeysFile {
  readonly alipay: { readonly appId: string; readonly pid: string; readonly app: { readonly privateKeyPem: string }; readonly alipay: { readonly publicKeyPem: string } };
  readonly wechat: {
    readonly mchid: string;
    readonly appid: string;
    readonly merchant: { readonly privateKeyPem: string };
    readonly merchantSerial: string;
    readonly platform: { readonly publicKeyPem: string };
    readonly platformSerial: string;
    readonly apiV3Key: string;
  };
  readonly unionpay: {
    readonly merId: string;
    readonly merchant: { readonly privateKeyPem: string };
    readonly merchantCertId: string;
    readonly platform: { readonly publicKeyPem: string };
    readonly platformCertId: string;
  };
  readonly jdpay: { readonly merchantId: string; readonly secret: string };
  readonly ecny: { readonly merchantId: string; readonly secret: string };
}

/**
 * The settings of every provider played by a provider sandbox at `baseUrl` whose keys file
 * (`services/provider-sandbox/.keys/keys.json`, git-ignored) is `keysJson`: the same URLs and keys
 * `startSandbox().providers` hands to an in-process merchant.
 */
export function sandboxProviderSettings(baseUrl: string, keysJson: string): ProviderSettings {
  const keys = JSON.parse(keysJson) as SandboxKeysFile;
  const base = baseUrl.replace(/\/+$/, "");
  return {
    alipay: {
      gatewayUrl: `${base}/alipay/gateway.do`,
      appId: keys.alipay.appId,
      pid: keys.alipay.pid,
      appPrivateKeyPem: keys.alipay.app.privateKeyPem,
      alipayPublicKeyPem: keys.alipay.alipay.publicKeyPem,
    },
    wechat: {
      baseUrl: base,
      mchid: keys.wechat.mchid,
      appid: keys.wechat.appid,
      merchantPrivateKeyPem: keys.wechat.merchant.privateKeyPem,
      merchantSerial: keys.wechat.merchantSerial,
      platformPublicKeyPem: keys.wechat.platform.publicKeyPem,
      platformSerial: keys.wechat.platformSerial,
      apiV3Key: keys.wechat.apiV3Key,
    },
    unionpay: {
      backTransUrl: `${base}/unionpay/gateway/api/backTransReq.do`,
      queryUrl: `${base}/unionpay/gateway/api/queryTrans.do`,
      merId: keys.unionpay.merId,
      merchantPrivateKeyPem: keys.unionpay.merchant.privateKeyPem,
      merchantCertId: keys.unionpay.merchantCertId,
      platformPublicKeyPem: keys.unionpay.platform.publicKeyPem,
      platformCertId: keys.unionpay.platformCertId,
    },
    jdpay: { baseUrl: `${base}/jdpay/v1`, merchantId: keys.jdpay.merchantId, secret: keys.jdpay.secret },
    ecny: { baseUrl: `${base}/ecny/v1`, merchantId: keys.ecny.merchantId, secret: keys.ecny.secret },
  };
}
