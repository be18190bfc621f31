import { describe, expect, it } from "vitest";
import { validateRefund, type RefundInput } from "./validate-refund.js";

const valid: RefundInput = {
  orderId: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
  refundRef: "refund-1",
  amount: { currency: "CNY", amountMinor: 100n },
  reason: "damaged",
};

function fieldsOf(input: RefundInput): string[] {
  const result = validateRefund(input);
  return result.ok ? [] : result.error.fieldViolations.map((v) => v.field);
}

describe("validateRefund", () => {
  it("accepts a well-formed request", () => {
    const result = validateRefund(valid);
    expect(result.ok && result.value.amount).toEqual({ currency: "CNY", amountMinor: 100n });
  });

  it.each<[string, Partial<RefundInput>, string[]]>([
    ["no order id", { orderId: "" }, ["order_id"]],
    ["no refund ref", { refundRef: " " }, ["refund_ref"]],
    ["a capture refund's reserved ref", { refundRef: "capture-refund:pay-1" }, ["refund_ref"]],
    ["the bare reserved prefix", { refundRef: "capture-refund:" }, ["refund_ref"]],
    ["no amount", { amount: undefined }, ["amount"]],
    ["a zero amount", { amount: { currency: "CNY", amountMinor: 0n } }, ["amount.amount_minor"]],
    ["a negative amount", { amount: { currency: "CNY", amountMinor: -5n } }, ["amount.amount_minor"]],
    ["an unknown currency", { amount: { currency: "CNH", amountMinor: 5n } }, ["amount.currency"]],
    ["an over-long reason", { reason: "x".repeat(257) }, ["reason"]],
  ])("refuses %s", (_label, patch, fields) => {
    expect(fieldsOf({ ...valid, ...patch })).toEqual(fields);
  });
});
