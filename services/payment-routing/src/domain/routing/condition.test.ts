import { money } from "@tributary/money";
import { describe, expect, it } from "vitest";
import { matches, minuteOfDay, type Condition } from "./condition.js";
import type { RoutingOrder } from "./routing-order.js";

const order: RoutingOrder = {
  merchantId: "m-1",
  buyerId: "b-1",
  amount: money(12_000n, "CNY"),
  lineCategories: ["apparel", "shoes"],
  channel: "app",
  country: "CN",
  preferredProvider: undefined,
  buyerAccounts: {},
};
// 2026-12-01T02:30Z is 10:30 in Beijing (UTC+8): minute 630.
const at = (minute: number) => ({ order, minuteOfDay: minute });
const context = at(630);

describe("matches: one row per leaf", () => {
  it.each<[string, Condition, boolean]>([
    ["merchant in list", { type: "merchant", merchantIds: ["m-0", "m-1"] }, true],
    ["merchant not in list", { type: "merchant", merchantIds: ["m-2"] }, false],
    ["buyer in list", { type: "buyer", buyerIds: ["b-1"] }, true],
    ["buyer not in list", { type: "buyer", buyerIds: ["b-2"] }, false],
    ["a line's category in list", { type: "category", categories: ["shoes", "food"] }, true],
    ["no line's category in list", { type: "category", categories: ["food"] }, false],
    ["channel in list", { type: "channel", channels: ["app", "web"] }, true],
    ["channel not in list", { type: "channel", channels: ["mini_program"] }, false],
    ["amount inside [100.00, 200.00)", { type: "amount", currency: "CNY", atLeastMinor: 10_000n, belowMinor: 20_000n }, true],
    ["amount at the inclusive lower bound", { type: "amount", currency: "CNY", atLeastMinor: 12_000n }, true],
    ["amount at the exclusive upper bound", { type: "amount", currency: "CNY", belowMinor: 12_000n }, false],
    ["amount below the range", { type: "amount", currency: "CNY", atLeastMinor: 12_001n }, false],
    ["amount range in another currency", { type: "amount", currency: "HKD", atLeastMinor: 0n }, false],
    ["currency in list", { type: "currency", currencies: ["CNY"] }, true],
    ["currency not in list", { type: "currency", currencies: ["HKD", "USD"] }, false],
    ["country in list", { type: "country", countries: ["CN", "HK"] }, true],
    ["country not in list", { type: "country", countries: ["HK"] }, false],
    ["inside a time window", { type: "time_of_day", windows: [{ fromMinute: 600, untilMinute: 660 }] }, true],
    ["at a window's exclusive end", { type: "time_of_day", windows: [{ fromMinute: 600, untilMinute: 630 }] }, false],
    ["outside every window", { type: "time_of_day", windows: [{ fromMinute: 0, untilMinute: 60 }, { fromMinute: 700, untilMinute: 800 }] }, false],
  ])("%s → %s", (_name, condition, expected) => {
    expect(matches(condition, context)).toBe(expected);
  });
});

describe("matches: combinations", () => {
  const yes: Condition = { type: "channel", channels: ["app"] };
  const no: Condition = { type: "channel", channels: ["web"] };
  it.each<[string, Condition, boolean]>([
    ["all of true, true", { type: "all", conditions: [yes, yes] }, true],
    ["all of true, false", { type: "all", conditions: [yes, no] }, false],
    ["any of false, true", { type: "any", conditions: [no, yes] }, true],
    ["any of false, false", { type: "any", conditions: [no, no] }, false],
    ["not true", { type: "not", condition: yes }, false],
    ["not false", { type: "not", condition: no }, true],
    ["nested: all(any(no, yes), not(no))", { type: "all", conditions: [{ type: "any", conditions: [no, yes] }, { type: "not", condition: no }] }, true],
  ])("%s → %s", (_name, condition, expected) => {
    expect(matches(condition, context)).toBe(expected);
  });

  it("does not match a country rule when the country is missing (missing data fails)", () => {
    const unknownCountry = { order: { ...order, country: undefined }, minuteOfDay: 630 };
    expect(matches({ type: "country", countries: ["CN"] }, unknownCountry)).toBe(false);
  });
});

describe("minuteOfDay", () => {
  it("reads local time at a fixed offset, wrapping past midnight both ways", () => {
    expect(minuteOfDay(new Date("2026-12-01T02:30:00Z"), 480)).toBe(630);
    expect(minuteOfDay(new Date("2026-12-01T17:00:00Z"), 480)).toBe(60); // 01:00 next day in Beijing
    expect(minuteOfDay(new Date("2026-12-01T01:00:00Z"), -300)).toBe(20 * 60); // 20:00 the day before in New York
  });
});
