import { CHANNEL_IDS, type ChannelId, type ProviderId } from "@tributary/contracts";
import type { Money } from "@tributary/money";

/** Where the buyer checks out: the contracts' channel ids (one table for every service). */
export const CHANNELS = CHANNEL_IDS;

/** One of {@link CHANNELS}. */
export type Channel = ChannelId;

/** Tells whether config text names a channel. */
export function isChannel(text: string): text is Channel {
  return (CHANNELS as readonly string[]).includes(text);
}

/**
 * What routing needs to know about an order: who sells, who buys, how much, what, where and how.
 * It is a projection of the order service's `OrderAccepted`; `lineCategories` are the categories of
 * the order's lines (duplicates allowed), `country` is ISO 3166-1 alpha-2 or `undefined` when the
 * upstream system did not say (a rule on country then does not match: missing data fails).
 * `buyerAccounts` holds the buyer's id at each provider the order names one for (a WeChat openid,
 * an Alipay user id): the products that charge a known wallet need it.
 */
export interface RoutingOrder {
  readonly merchantId: string;
  readonly buyerId: string;
  readonly amount: Money;
  readonly lineCategories: readonly string[];
  readonly channel: Channel;
  readonly country: string | undefined;
  readonly preferredProvider: ProviderId | undefined;
  readonly buyerAccounts: BuyerAccounts;
}

/** The buyer's account id at each provider the order names one for. */
export type BuyerAccounts = Readonly<Partial<Record<ProviderId, string>>>;
