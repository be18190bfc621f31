import type { ProviderId } from "@tributary/contracts";
import { assertNever } from "@tributary/result";
import type { Channel } from "./routing-order.js";

/**
 * What a provider's product on a channel needs to know of the buyer before the payment can be
 * created: WeChat Pay's JSAPI (the mini-program product) is created for a payer openid, and
 * Alipay's mini-program payment (`alipay.trade.create`) for a buyer id; every other product
 * (QR codes, app SDK parameters) is created without knowing who will pay. `undefined`: nothing.
 */
export function buyerAccountNeeded(provider: ProviderId, channel: Channel): string | undefined {
  if (channel !== "mini_program") return undefined;
  switch (provider) {
    case "wechat_pay":
      return "WeChat openid (JSAPI)";
    case "alipay":
      return "Alipay buyer id (alipay.trade.create)";
    case "unionpay":
    case "jd_pay":
    case "ecny":
      return undefined;
    default:
      return assertNever(provider, "provider");
  }
}
