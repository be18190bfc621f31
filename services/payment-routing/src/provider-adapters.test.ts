import { describe, expect, it } from "vitest";
import { paymentIdUnionpayOrders } from "./provider-adapters.js";

describe("paymentIdUnionpayOrders", () => {
  it("derives a payment's txnTime from its UUIDv7 id, the same in every instance and after a restart", () => {
    // 0x019cd2b7c000 ms = 2026-03-09T13:09:43.552Z → 21:09:43 Beijing time.
    const paymentId = "019cd2b7c0007aaa8bbb0123456789ab";
    expect(new Date(0x019cd2b7c000).toISOString()).toBe("2026-03-09T13:09:43.552Z");
    expect(paymentIdUnionpayOrders().get(paymentId)).toEqual({ txnTime: "20260309210943" });
    expect(paymentIdUnionpayOrders().get(paymentId)).toEqual(paymentIdUnionpayOrders().get(paymentId));
  });

  it("remembers anything else in memory only, and what was set wins", () => {
    const orders = paymentIdUnionpayOrders();
    expect(orders.get("Rabcdef0123456789abcdef012345678")).toBeUndefined();
    expect(orders.get("019cd2b7c0006aaa8bbb0123456789ab")).toBeUndefined(); // not version 7
    orders.set("Rabcdef0123456789abcdef012345678", { txnTime: "20261201120000", paymentId: "p" });
    expect(orders.get("Rabcdef0123456789abcdef012345678")).toEqual({ txnTime: "20261201120000", paymentId: "p" });
  });
});
