import { create } from "@bufbuild/protobuf";
import { channelIdToProto, PROVIDER_IDS, providerIdToProto, type ChannelId, type ProviderId } from "@tributary/contracts";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { OrderPlacedSchema, type OrderPlaced } from "@tributary/contracts/order/v1/order_events";

/** How the simulated upstream order system shops: every choice is drawn from `seed`, so a run repeats. */
export interface OrderSimulation {
  readonly orders: number;
  readonly seed: number;
  /** Prefix of every merchant order reference (the idempotency key upstream): one per run. */
  readonly runId: string;
  readonly merchants: readonly string[];
  /** Buyers are `buyer-1` … `buyer-<buyers>`, drawn with a skew (a few buy often, most rarely). */
  readonly buyers: number;
  readonly categories: readonly string[];
  /** Relative weights of the checkout channels. */
  readonly channels: Readonly<Record<ChannelName, number>>;
  /** Relative weights of the buyer's preferred rail; `none` = no preference. */
  readonly preferredProviders: Readonly<Record<ProviderId | "none", number>>;
  /** Unit prices in fen, drawn log-uniformly between these (inclusive). */
  readonly minUnitPriceMinor: bigint;
  readonly maxUnitPriceMinor: bigint;
  /** Share of buyers outside mainland China (country HK), for country rules. */
  readonly foreignBuyerShare: number;
}

/** A checkout channel, as the contracts spell it. */
export type ChannelName = ChannelId;

/** A business day's shoppers as the seed's story has them: two merchants, five rails, six categories. */
export function defaultSimulation(runId: string, orders = 2_000, seed = 20261201): OrderSimulation {
  return {
    orders,
    seed,
    runId,
    merchants: ["m-taobao-1", "m-small-2"],
    buyers: 1_500,
    categories: ["apparel", "shoes", "food", "electronics", "gift_card", "books"],
    channels: { app: 6, web: 3, mini_program: 1 },
    preferredProviders: { none: 7, alipay: 1, wechat_pay: 1, unionpay: 0.4, jd_pay: 0.3, ecny: 0.3 },
    minUnitPriceMinor: 100n,
    maxUnitPriceMinor: 200_000n,
    foreignBuyerShare: 0.05,
  };
}

/**
 * The orders of one simulation, in publishing order, as `OrderPlaced` events whose totals equal
 * their lines exactly (the order service rejects anything else). Pure: the same simulation gives
 * the same orders.
 */
export function simulatedOrders(simulation: OrderSimulation): OrderPlaced[] {
  const random = seededRandom(simulation.seed);
  const channels = weightedPicker(Object.entries(simulation.channels) as [ChannelName, number][], random);
  const preferences = weightedPicker(Object.entries(simulation.preferredProviders) as [ProviderId | "none", number][], random);
  const orders: OrderPlaced[] = [];
  for (let index = 0; index < simulation.orders; index += 1) {
    // Buyer skew: squaring the draw makes low-numbered buyers come back more often.
    const buyerNumber = 1 + Math.floor(random() ** 2 * simulation.buyers);
    const lineCount = 1 + Math.floor(random() * 3);
    const lines = Array.from({ length: lineCount }, (_, lineNo) => ({
      sku: `sku-${lineNo}-${Math.floor(random() * 500)}`,
      category: simulation.categories[Math.floor(random() * simulation.categories.length)]!,
      quantity: BigInt(1 + Math.floor(random() * 3)),
      unitPrice: { currency: "CNY", amountMinor: logUniform(simulation.minUnitPriceMinor, simulation.maxUnitPriceMinor, random()) },
    }));
    const total = lines.reduce((sum, line) => sum + line.quantity * line.unitPrice.amountMinor, 0n);
    const preferred = preferences();
    // Drawn in this order (merchant, country, channel) so a seed gives the orders it always gave.
    const merchantId = simulation.merchants[Math.floor(random() * simulation.merchants.length)]!;
    const country = random() < simulation.foreignBuyerShare ? "HK" : "CN";
    const channel = channels();
    orders.push(
      create(OrderPlacedSchema, {
        merchantId,
        merchantOrderRef: `${simulation.runId}-${String(index + 1).padStart(6, "0")}`,
        buyer: {
          buyerId: `buyer-${buyerNumber}`,
          country,
          providerAccounts: channel === "mini_program" ? miniProgramAccounts(buyerNumber) : [],
        },
        lines,
        total: { currency: "CNY", amountMinor: total },
        channel: channelIdToProto(channel),
        preferredProvider: preferred === "none" ? Provider.UNSPECIFIED : providerIdToProto(preferred),
      }),
    );
  }
  return orders;
}

/**
 * The wallet accounts a mini-program checkout knows of its buyer (the super-app signed them in):
 * a WeChat openid and an Alipay user id, each a function of the buyer alone, so the same buyer
 * always pays from the same accounts. WeChat JSAPI and Alipay's mini-program payment need them.
 */
function miniProgramAccounts(buyerNumber: number): { provider: Provider; accountId: string }[] {
  return [
    { provider: Provider.ALIPAY, accountId: `2088${String(100_000_000_000 + buyerNumber)}` },
    { provider: Provider.WECHAT_PAY, accountId: `oSim${buyerNumber.toString(36).padStart(24, "0")}` },
  ];
}

/** Every rail of the registry, for validating a `--provider-mix` given on the command line. */
export const preferenceNames: readonly (ProviderId | "none")[] = ["none", ...PROVIDER_IDS];

/** mulberry32: small, fast, and good enough to draw shoppers. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function weightedPicker<T>(entries: readonly [T, number][], random: () => number): () => T {
  const positive = entries.filter(([, weight]) => weight > 0);
  const total = positive.reduce((sum, [, weight]) => sum + weight, 0);
  if (positive.length === 0 || total <= 0) throw new Error("a weighted choice needs at least one positive weight");
  return () => {
    let draw = random() * total;
    for (const [value, weight] of positive) {
      draw -= weight;
      if (draw < 0) return value;
    }
    return positive[positive.length - 1]![0];
  };
}

/** A price between min and max (inclusive), uniform in log space, as whole fen. */
function logUniform(min: bigint, max: bigint, draw: number): bigint {
  const low = Math.log(Number(min));
  const high = Math.log(Number(max));
  const value = BigInt(Math.round(Math.exp(low + draw * (high - low))));
  return value < min ? min : value > max ? max : value;
}
