import { INT64_MAX } from "@tributary/money";
import { describe, expect, it } from "vitest";
import { differingFields } from "./differing-fields.js";
import type { PlaceOrderInput } from "./place-order-input.js";
import { validatePlaceOrder } from "./validate-place-order.js";

const valid: PlaceOrderInput = {
  merchantId: "m-1",
  merchantOrderRef: "ref-1",
  buyer: { buyerId: "b-1", country: "CN", providerAccounts: [] },
  lines: [
    { sku: "A", category: "apparel", quantity: 2n, unitPrice: { currency: "CNY", amountMinor: 1999n } },
    { sku: "B", category: "services", quantity: 1n, unitPrice: { currency: "CNY", amountMinor: 500n } },
  ],
  total: { currency: "CNY", amountMinor: 4498n },
  channel: "web",
  preferredProvider: "",
};

function fieldsOf(input: PlaceOrderInput): string[] {
  const result = validatePlaceOrder(input);
  return result.ok ? [] : result.error.fieldViolations.map((v) => v.field);
}

describe("validatePlaceOrder", () => {
  it("accepts a valid order and keeps its content exactly", () => {
    const result = validatePlaceOrder(valid);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.total).toEqual({ currency: "CNY", amountMinor: 4498n });
    expect(result.value.lines[0]?.unitPrice).toEqual({ currency: "CNY", amountMinor: 1999n });
    expect(result.value.preferredProvider).toBeUndefined();
    expect(result.value.buyer.country).toBe("CN");
  });

  it("treats an empty country and an unset provider as absent", () => {
    const result = validatePlaceOrder({ ...valid, buyer: { buyerId: "b", country: "", providerAccounts: [] }, preferredProvider: "ecny" });
    expect(result.ok && result.value.buyer.country === undefined && result.value.preferredProvider === "ecny").toBe(true);
  });

  it("keeps the buyer's provider accounts in the contracts' provider order", () => {
    const result = validatePlaceOrder({
      ...valid,
      buyer: { buyerId: "b", country: "", providerAccounts: [{ provider: "wechat_pay", accountId: "oUpF8" }, { provider: "alipay", accountId: "2088102146225135" }] },
    });
    expect(result.ok && result.value.buyer.providerAccounts).toEqual([
      { provider: "alipay", accountId: "2088102146225135" },
      { provider: "wechat_pay", accountId: "oUpF8" },
    ]);
  });

  it.each<[string, Partial<PlaceOrderInput>, string[]]>([
    ["blank merchant", { merchantId: "  " }, ["merchant_id"]],
    ["merchant with padding", { merchantId: " m-1" }, ["merchant_id"]],
    ["over-long reference", { merchantOrderRef: "r".repeat(129) }, ["merchant_order_ref"]],
    ["missing buyer", { buyer: undefined }, ["buyer"]],
    ["blank buyer id", { buyer: { buyerId: "", country: "", providerAccounts: [] } }, ["buyer.buyer_id"]],
    ["lower-case country", { buyer: { buyerId: "b", country: "cn", providerAccounts: [] } }, ["buyer.country"]],
    ["unset account provider", { buyer: { buyerId: "b", country: "", providerAccounts: [{ provider: "", accountId: "o-1" }] } }, ["buyer.provider_accounts[0].provider"]],
    ["undefined account provider", { buyer: { buyerId: "b", country: "", providerAccounts: [{ provider: "unknown(9)", accountId: "o-1" }] } }, ["buyer.provider_accounts[0].provider"]],
    [
      "two accounts at one provider",
      { buyer: { buyerId: "b", country: "", providerAccounts: [{ provider: "wechat_pay", accountId: "o-1" }, { provider: "wechat_pay", accountId: "o-2" }] } },
      ["buyer.provider_accounts[1].provider"],
    ],
    ["blank account id", { buyer: { buyerId: "b", country: "", providerAccounts: [{ provider: "alipay", accountId: "" }] } }, ["buyer.provider_accounts[0].account_id"]],
    ["account id with a space", { buyer: { buyerId: "b", country: "", providerAccounts: [{ provider: "alipay", accountId: "2088 1" }] } }, ["buyer.provider_accounts[0].account_id"]],
    ["over-long account id", { buyer: { buyerId: "b", country: "", providerAccounts: [{ provider: "alipay", accountId: "2".repeat(129) }] } }, ["buyer.provider_accounts[0].account_id"]],
    ["no lines", { lines: [] }, ["lines"]],
    ["missing total", { total: undefined }, ["total"]],
    ["zero total", { total: { currency: "CNY", amountMinor: 0n } }, ["total.amount_minor"]],
    ["unknown total currency", { total: { currency: "ABC", amountMinor: 4498n } }, ["total.currency"]],
    ["empty total currency", { total: { currency: "", amountMinor: 4498n } }, ["total.currency"]],
    ["total off by one", { total: { currency: "CNY", amountMinor: 4497n } }, ["total.amount_minor"]],
    ["unset channel", { channel: "" }, ["channel"]],
    ["undefined channel number", { channel: "unknown(9)" }, ["channel"]],
    ["undefined provider number", { preferredProvider: "unknown(9)" }, ["preferred_provider"]],
  ])("refuses %s", (_label, patch, fields) => {
    expect(fieldsOf({ ...valid, ...patch })).toEqual(fields);
  });

  it.each<[string, PlaceOrderInput["lines"][number], string[]]>([
    ["a zero quantity", { sku: "B", category: "c", quantity: 0n, unitPrice: { currency: "CNY", amountMinor: 500n } }, ["lines[1].quantity"]],
    ["a negative price", { sku: "B", category: "c", quantity: 1n, unitPrice: { currency: "CNY", amountMinor: -1n } }, ["lines[1].unit_price.amount_minor"]],
    ["a missing price", { sku: "B", category: "c", quantity: 1n, unitPrice: undefined }, ["lines[1].unit_price"]],
    ["a foreign currency", { sku: "B", category: "c", quantity: 1n, unitPrice: { currency: "JPY", amountMinor: 500n } }, ["lines[1].unit_price.currency"]],
    ["an unknown currency", { sku: "B", category: "c", quantity: 1n, unitPrice: { currency: "QQQ", amountMinor: 500n } }, ["lines[1].unit_price.currency"]],
    ["a blank sku and category", { sku: "", category: "", quantity: 1n, unitPrice: { currency: "CNY", amountMinor: 500n } }, ["lines[1].sku", "lines[1].category"]],
  ])("refuses a line with %s, and does not blame the total for it", (_label, line, fields) => {
    expect(fieldsOf({ ...valid, lines: [valid.lines[0]!, line] })).toEqual(fields);
  });

  it("reports every violation at once", () => {
    expect(fieldsOf({ ...valid, merchantId: "", channel: "", total: { currency: "CNY", amountMinor: 1n } })).toEqual([
      "merchant_id",
      "total.amount_minor",
      "channel",
    ]);
  });

  it("keeps amounts within int64: a line product or a sum beyond it is refused, never wrapped", () => {
    const big = { currency: "CNY", amountMinor: INT64_MAX / 2n + 1n };
    expect(fieldsOf({ ...valid, lines: [{ sku: "A", category: "c", quantity: 2n, unitPrice: big }], total: big })).toEqual(["lines[0]"]);
    expect(
      fieldsOf({
        ...valid,
        lines: [
          { sku: "A", category: "c", quantity: 1n, unitPrice: big },
          { sku: "B", category: "c", quantity: 1n, unitPrice: big },
        ],
        total: { currency: "CNY", amountMinor: INT64_MAX },
      }),
    ).toEqual(["lines"]);
    expect(fieldsOf({ ...valid, total: { currency: "CNY", amountMinor: INT64_MAX + 1n } })).toContain("total.amount_minor");
    const exact = validatePlaceOrder({
      ...valid,
      lines: [{ sku: "A", category: "c", quantity: 1n, unitPrice: { currency: "CNY", amountMinor: INT64_MAX } }],
      total: { currency: "CNY", amountMinor: INT64_MAX },
    });
    expect(exact.ok).toBe(true);
  });
});

describe("differingFields", () => {
  const draft = (input: PlaceOrderInput) => {
    const result = validatePlaceOrder(input);
    if (!result.ok) throw new Error(result.error.message);
    return result.value;
  };

  it("finds nothing for the same content", () => {
    expect(differingFields(draft(valid), draft(valid))).toEqual([]);
  });

  it("sees accounts listed in another order as the same, and a changed account as a difference", () => {
    const alipay = { provider: "alipay", accountId: "2088102146225135" };
    const wechat = { provider: "wechat_pay", accountId: "oUpF8" };
    const withAccounts = (accounts: { provider: string; accountId: string }[]) =>
      draft({ ...valid, buyer: { buyerId: "b-1", country: "CN", providerAccounts: accounts } });
    expect(differingFields(withAccounts([alipay, wechat]), withAccounts([wechat, alipay]))).toEqual([]);
    const found = differingFields(withAccounts([alipay, wechat]), withAccounts([alipay, { ...wechat, accountId: "oOther" }]));
    expect(found).toEqual([{ field: "buyer.provider_accounts", description: "differs from the existing order: was [alipay:2088102146225135, wechat_pay:oUpF8]" }]);
  });

  it("names each changed field with the stored value", () => {
    const changed = draft({
      ...valid,
      buyer: { buyerId: "b-2", country: "CN", providerAccounts: [] },
      lines: [{ ...valid.lines[0]!, quantity: 3n }, valid.lines[1]!],
      total: { currency: "CNY", amountMinor: 6497n },
      preferredProvider: "unionpay",
    });
    const found = differingFields(draft(valid), changed);
    expect(found.map((f) => f.field)).toEqual([
      "buyer.buyer_id",
      "lines[0].quantity",
      "total.amount_minor",
      "preferred_provider",
    ]);
    expect(found[1]?.description).toContain("2");
  });

  it("reports a different number of lines as the lines field", () => {
    const fewer = draft({ ...valid, lines: [valid.lines[0]!], total: { currency: "CNY", amountMinor: 3998n } });
    expect(differingFields(draft(valid), fewer).map((f) => f.field)).toEqual(["lines", "total.amount_minor"]);
  });
});
