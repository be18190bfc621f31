/**
 * What a buyer's wallet app does with what the merchant's checkout hands it, for the products
 * whose payment the app itself starts. Tests and the day run use it to play the buyer; nothing
 * on the merchant side may call it.
 */

/** How Alipay answered an app's submission of an order string. */
export interface AlipayAppSubmission {
  /** `10000` when Alipay verified the order string and created (or already had) the trade. */
  readonly code: string;
  readonly subCode: string | undefined;
  /** Alipay's trade number, when it created the trade. */
  readonly tradeNo: string | undefined;
}

/**
 * The buyer's Alipay app (app SDK `payV2`) submitting an `alipay.trade.app.pay` order string to
 * Alipay (`appPayUrl`, the sandbox's `providers.alipay.appPayUrl`). The trade exists from then
 * on; the sandbox's simulated buyer then pays it or walks away, as after a scan.
 */
export async function submitAlipayAppOrder(appPayUrl: string, orderString: string): Promise<AlipayAppSubmission> {
  const response = await fetch(appPayUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded;charset=utf-8" },
    body: orderString,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`Alipay app submission: HTTP ${response.status}: ${text.slice(0, 200)}`);
  const body = JSON.parse(text) as { alipay_trade_app_pay_response?: Record<string, unknown> };
  const answer = body.alipay_trade_app_pay_response;
  if (answer === undefined) throw new Error(`Alipay app submission: no alipay_trade_app_pay_response in ${text.slice(0, 200)}`);
  const textField = (name: string): string | undefined => (typeof answer[name] === "string" ? answer[name] : undefined);
  return { code: textField("code") ?? "", subCode: textField("sub_code"), tradeNo: textField("trade_no") };
}
