import { assertNever } from "@tributary/result";
import { createAlipayBillSource, type AlipayBillConfig } from "./alipay/alipay-bill-client.js";
import type { BillSource } from "./bill-source.js";
import { createGenericBillSource } from "./generic/generic-bill-client.js";
import { createUnionpayBillSource, type UnionpayBillConfig } from "./unionpay/unionpay-bill-client.js";
import { createWechatBillSource, type WechatBillConfig } from "./wechat/wechat-bill-client.js";

/** The download credentials of one provider, as its worker is configured. */
export type BillSourceConfig =
  | ({ readonly provider: "wechat_pay" } & WechatBillConfig)
  | ({ readonly provider: "alipay" } & AlipayBillConfig)
  | ({ readonly provider: "unionpay" } & UnionpayBillConfig)
  | { readonly provider: "jd_pay" | "ecny"; readonly baseUrl: string; readonly merchantId: string; readonly secret: string };

/** The signed download client of the configured provider. */
export function createBillSource(config: BillSourceConfig): BillSource {
  switch (config.provider) {
    case "wechat_pay":
      return createWechatBillSource(config);
    case "alipay":
      return createAlipayBillSource(config);
    case "unionpay":
      return createUnionpayBillSource(config);
    case "jd_pay":
    case "ecny":
      return createGenericBillSource({ ...config, providerName: config.provider === "jd_pay" ? "jdpay" : "ecny" });
    default:
      return assertNever(config, "bill source config");
  }
}
