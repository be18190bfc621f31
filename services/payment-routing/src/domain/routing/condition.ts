import type { CurrencyCode } from "@tributary/money";
import { assertNever } from "@tributary/result";
import type { Channel, RoutingOrder } from "./routing-order.js";

/**
 * A time-of-day window, `[fromMinute, untilMinute)` in minutes after local midnight (0–1440), in
 * the policy's fixed UTC offset. A window across midnight is written as two windows.
 */
export interface TimeWindow {
  readonly fromMinute: number;
  readonly untilMinute: number;
}

/**
 * A rule's condition: leaves over the order's fields, combined with `all` (AND), `any` (OR) and
 * `not`. A leaf over a field the order lacks (no country) is false, so `not` of it is true — write
 * the rule so that missing data is not the way in.
 *
 * - `amount`: `[atLeastMinor, belowMinor)` in `currency`; either bound may be absent. An order in
 *   another currency does not match (no conversion happens in routing).
 * - `category`: true when any line's category is in the list.
 * - `time_of_day`: true when `now` falls in one of the windows (which must not overlap).
 */
export type Condition =
  | { readonly type: "all"; readonly conditions: readonly Condition[] }
  | { readonly type: "any"; readonly conditions: readonly Condition[] }
  | { readonly type: "not"; readonly condition: Condition }
  | { readonly type: "merchant"; readonly merchantIds: readonly string[] }
  | { readonly type: "buyer"; readonly buyerIds: readonly string[] }
  | { readonly type: "category"; readonly categories: readonly string[] }
  | { readonly type: "channel"; readonly channels: readonly Channel[] }
  | {
      readonly type: "amount";
      readonly currency: CurrencyCode;
      readonly atLeastMinor?: bigint;
      readonly belowMinor?: bigint;
    }
  | { readonly type: "currency"; readonly currencies: readonly CurrencyCode[] }
  | { readonly type: "country"; readonly countries: readonly string[] }
  | { readonly type: "time_of_day"; readonly windows: readonly TimeWindow[] };

const MS_PER_MINUTE = 60_000;
const MINUTES_PER_DAY = 1_440;

/** Minutes after local midnight of `now` at a fixed UTC offset (China: +480, no DST). */
export function minuteOfDay(now: Date, utcOffsetMinutes: number): number {
  const minutes = Math.floor(now.getTime() / MS_PER_MINUTE) + utcOffsetMinutes;
  return ((minutes % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
}

/** What a condition is evaluated against: the order and the local time of day. */
export interface ConditionContext {
  readonly order: RoutingOrder;
  /** {@link minuteOfDay} of the decision's `now`, computed once per decision. */
  readonly minuteOfDay: number;
}

/** Whether the condition holds for this order at this time. Pure; `all` of nothing is true. */
export function matches(condition: Condition, context: ConditionContext): boolean {
  const { order } = context;
  switch (condition.type) {
    case "all":
      return condition.conditions.every((c) => matches(c, context));
    case "any":
      return condition.conditions.some((c) => matches(c, context));
    case "not":
      return !matches(condition.condition, context);
    case "merchant":
      return condition.merchantIds.includes(order.merchantId);
    case "buyer":
      return condition.buyerIds.includes(order.buyerId);
    case "category":
      return order.lineCategories.some((category) => condition.categories.includes(category));
    case "channel":
      return condition.channels.includes(order.channel);
    case "amount": {
      if (order.amount.currency !== condition.currency) return false;
      const amountMinor = order.amount.amountMinor;
      if (condition.atLeastMinor !== undefined && amountMinor < condition.atLeastMinor) return false;
      if (condition.belowMinor !== undefined && amountMinor >= condition.belowMinor) return false;
      return true;
    }
    case "currency":
      return condition.currencies.includes(order.amount.currency);
    case "country":
      return order.country !== undefined && condition.countries.includes(order.country);
    case "time_of_day":
      return condition.windows.some((w) => context.minuteOfDay >= w.fromMinute && context.minuteOfDay < w.untilMinute);
    default:
      return assertNever(condition, "condition");
  }
}
