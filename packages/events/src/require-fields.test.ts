import { create } from "@bufbuild/protobuf";
import { OrderPaidSchema, OrderPlacedSchema } from "@tributary/contracts/order/v1/order_events";
import { MoneySchema } from "@tributary/contracts/common/v1/money";
import { describe, expect, it } from "vitest";
import { isNonRetryableError } from "./non-retryable-error.js";
import { requireFields } from "./require-fields.js";

describe("requireFields", () => {
  const paid = create(OrderPaidSchema, {
    orderId: "o-1",
    paymentId: "p-1",
    amount: create(MoneySchema, { amountMinor: 1234n, currency: "EUR" }),
  });

  it("passes a message whose listed fields are all set", () => {
    expect(requireFields(paid, ["orderId", "paymentId", "amount"])).toBeUndefined();
  });

  it("refuses an empty payment id as a non-retryable error that names it", () => {
    const missing = requireFields({ ...paid, paymentId: "" }, ["orderId", "paymentId", "amount"]);
    expect(isNonRetryableError(missing)).toBe(true);
    expect(missing?.fields).toEqual(["paymentId"]);
    expect(missing?.message).toBe("missing_required_fields: paymentId empty in tributary.order.v1.OrderPaid");
  });

  it("lists every empty field: unset message, empty string, empty list, enum at 0", () => {
    const placed = create(OrderPlacedSchema, { merchantId: "" });
    expect(requireFields(placed, ["merchantId", "merchantOrderRef", "buyer", "lines", "total", "channel"])?.fields).toEqual([
      "merchantId",
      "merchantOrderRef",
      "buyer",
      "lines",
      "total",
      "channel",
    ]);
  });

  it("only checks the fields it is told about", () => {
    expect(requireFields(create(OrderPaidSchema, { orderId: "o-1" }), ["orderId"])).toBeUndefined();
  });
});
