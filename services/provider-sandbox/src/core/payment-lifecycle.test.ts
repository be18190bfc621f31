import { describe, expect, it } from "vitest";
import { FEE_SCHEDULES } from "../config/fee-schedules.js";
import { acceptRefund, markPaid } from "./payment-lifecycle.js";
import type { PaymentRecord } from "./store.js";

function payment(amountMinor: bigint): PaymentRecord {
  return {
    provider: "wechat", outTradeNo: "T1", providerTradeNo: "42", amountMinor, currency: "CNY", subject: "s", tradeType: "NATIVE",
    notifyUrl: undefined, attach: undefined, createdAtMs: 0, expiresAtMs: 1, extra: {}, status: "pending", paidAtMs: undefined,
    closedAtMs: undefined, bookedAtMs: undefined, buyerId: undefined, bankType: undefined, feeMinor: undefined, refunds: [],
  };
}
const buyer = { buyerId: "b", bankType: "OTHERS" };

describe("fees per transaction", () => {
  it("charges WeChat 0.60% half_up rounded to the fen: 1299.02 → 7.79, 0.01 → 0.00", () => {
    const big = payment(129902n);
    markPaid(big, 1, FEE_SCHEDULES.wechat, buyer);
    expect(big.feeMinor).toBe(779n);
    const tiny = payment(1n);
    markPaid(tiny, 1, FEE_SCHEDULES.wechat, buyer);
    expect(tiny.feeMinor).toBe(0n);
  });

  it("gives the fee back proportionally and exactly in full over partial refunds", () => {
    const p = payment(129902n);
    markPaid(p, 1, FEE_SCHEDULES.wechat, buyer);
    const r = (no: string, amountMinor: bigint) =>
      acceptRefund(p, { outRefundNo: no, providerRefundNo: no, amountMinor, reason: undefined, notifyUrl: undefined }, 2, FEE_SCHEDULES.wechat);
    const first = r("R1", 50000n);
    const second = r("R2", 79902n);
    expect(first.ok && second.ok).toBe(true);
    if (first.ok && second.ok) expect(first.value.feeReturnedMinor + second.value.feeReturnedMinor).toBe(779n);
    expect(r("R3", 1n)).toEqual({ ok: false, error: { code: "exceeds_refundable" } });
  });

  it("refuses to refund an unpaid payment", () => {
    expect(acceptRefund(payment(100n), { outRefundNo: "R", providerRefundNo: "R", amountMinor: 1n, reason: undefined, notifyUrl: undefined }, 0, FEE_SCHEDULES.wechat)).toEqual({ ok: false, error: { code: "not_paid" } });
  });
});
