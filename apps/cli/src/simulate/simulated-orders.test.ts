import { Channel, Provider } from "@tributary/contracts/common/v1/provider";
import { describe, expect, it } from "vitest";
import { defaultSimulation, simulatedOrders } from "./simulated-orders.js";

describe("simulatedOrders", () => {
  const orders = simulatedOrders(defaultSimulation("run-1", 5_000, 7));

  it("every total equals the sum of its lines exactly, in whole fen", () => {
    for (const order of orders) {
      const sum = order.lines.reduce((total, line) => total + line.quantity * (line.unitPrice?.amountMinor ?? 0n), 0n);
      expect(order.total?.amountMinor).toBe(sum);
      expect(order.total?.currency).toBe("CNY");
      for (const line of order.lines) {
        expect(line.unitPrice!.amountMinor).toBeGreaterThanOrEqual(100n);
        expect(line.unitPrice!.amountMinor).toBeLessThanOrEqual(200_000n);
      }
    }
  });

  it("the same seed gives the same orders, another seed others", () => {
    const again = simulatedOrders(defaultSimulation("run-1", 5_000, 7));
    expect(again.map((order) => order.total?.amountMinor)).toEqual(orders.map((order) => order.total?.amountMinor));
    const other = simulatedOrders(defaultSimulation("run-1", 5_000, 8));
    expect(other.map((order) => order.total?.amountMinor)).not.toEqual(orders.map((order) => order.total?.amountMinor));
  });

  it("merchant order references are unique within a run and carry its id", () => {
    const refs = new Set(orders.map((order) => order.merchantOrderRef));
    expect(refs.size).toBe(orders.length);
    expect([...refs].every((ref) => ref.startsWith("run-1-"))).toBe(true);
  });

  it("draws preferences and channels in the configured proportions (±2 pp over 5,000 orders)", () => {
    // Weights none 7, alipay 1, wechat_pay 1, unionpay 0.4, jd_pay 0.3, ecny 0.3 of 10.
    const none = orders.filter((order) => order.preferredProvider === Provider.UNSPECIFIED).length / orders.length;
    const wechat = orders.filter((order) => order.preferredProvider === Provider.WECHAT_PAY).length / orders.length;
    expect(none).toBeGreaterThan(0.68);
    expect(none).toBeLessThan(0.72);
    expect(wechat).toBeGreaterThan(0.08);
    expect(wechat).toBeLessThan(0.12);
    const merchants = new Set(orders.map((order) => order.merchantId));
    expect(merchants).toEqual(new Set(["m-taobao-1", "m-small-2"]));
  });

  it("mini-program orders carry the buyer's Alipay id and WeChat openid, the same for the same buyer; other channels none", () => {
    const mini = orders.filter((order) => order.channel === Channel.MINI_PROGRAM);
    expect(mini.length).toBeGreaterThan(0);
    for (const order of mini) {
      const [alipay, wechat] = order.buyer?.providerAccounts ?? [];
      expect(alipay?.provider).toBe(Provider.ALIPAY);
      expect(alipay?.accountId).toMatch(/^2088\d{12}$/);
      expect(wechat?.provider).toBe(Provider.WECHAT_PAY);
    }
    const byBuyer = new Map<string, string>();
    for (const order of mini) {
      const ids = (order.buyer?.providerAccounts ?? []).map((a) => a.accountId).join(",");
      expect(byBuyer.get(order.buyer?.buyerId ?? "") ?? ids).toBe(ids);
      byBuyer.set(order.buyer?.buyerId ?? "", ids);
    }
    expect(orders.filter((order) => order.channel !== Channel.MINI_PROGRAM).every((order) => order.buyer?.providerAccounts.length === 0)).toBe(true);
  });

  it("a mix with only zero weights is refused", () => {
    const simulation = { ...defaultSimulation("run-2", 1), preferredProviders: { none: 0, alipay: 0, wechat_pay: 0, unionpay: 0, jd_pay: 0, ecny: 0 } };
    expect(() => simulatedOrders(simulation)).toThrow("at least one positive weight");
  });
});
