/**
 * An amount as it arrives from outside, before the currency is known to be one we handle.
 * `undefined` where the message field was absent.
 */
export interface MoneyInput {
  readonly currency: string;
  readonly amountMinor: bigint;
}

/** One order line as it arrives, unvalidated. */
export interface OrderLineInput {
  readonly sku: string;
  readonly category: string;
  readonly quantity: bigint;
  readonly unitPrice: MoneyInput | undefined;
}

/**
 * A create request or an `OrderPlaced` event as the adapters hand it over: the proto's fields
 * with enums spelled as our names (`"app"`, `"wechat_pay"`; `""` when unset, `"unknown(7)"` for
 * a number the contract does not define). Only {@link validatePlaceOrder} turns it into an
 * `OrderDraft`, so both entry points obey exactly the same rules.
 */
export interface PlaceOrderInput {
  readonly merchantId: string;
  readonly merchantOrderRef: string;
  readonly buyer:
    | {
        readonly buyerId: string;
        readonly country: string;
        readonly providerAccounts: readonly { readonly provider: string; readonly accountId: string }[];
      }
    | undefined;
  readonly lines: readonly OrderLineInput[];
  readonly total: MoneyInput | undefined;
  readonly channel: string;
  readonly preferredProvider: string;
}
