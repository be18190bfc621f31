// Builds a seeded day of processed payments and refunds directly through the sandbox's state
// functions, for bill round-trip tests.
import { FEE_SCHEDULES } from "../../src/config/fee-schedules.js";
import { acceptRefund, markPaid, markRefundSucceeded } from "../../src/core/payment-lifecycle.js";
import { createPrng } from "../../src/core/prng.js";
import type { PaymentRecord, SandboxProviderName } from "../../src/core/store.js";

export const DAY = "2026-11-23";
export const DAY_START = Date.parse("2026-11-22T16:00:00Z");
export const DAY_END = DAY_START + 86_400_000;

export function seededDay(provider: SandboxProviderName, seed: number, count = 30): PaymentRecord[] {
  const prng = createPrng(seed);
  const out: PaymentRecord[] = [];
  const schedule = FEE_SCHEDULES[provider];
  for (let i = 0; i < count; i++) {
    // Some payments fall the day before, some just before and after the cut-off.
    const paidAt =
      i === 0 ? DAY_START - 1 : i === 1 ? DAY_START : i === 2 ? DAY_END - 100 : i === 3 ? DAY_END : DAY_START + prng.int(86_400_000);
    const amount = i === 4 ? 129902n : i === 5 ? 1n : BigInt(1 + prng.int(500_000));
    const payment: PaymentRecord = {
      provider, outTradeNo: `ORDER${seed}${String(i).padStart(4, "0")}`, providerTradeNo: prng.digits(21),
      amountMinor: amount, currency: "CNY", subject: i % 3 === 0 ? "测试商品,含逗号" : "Coffee", tradeType: "NATIVE",
      notifyUrl: undefined, attach: i % 4 === 0 ? "att" : undefined, createdAtMs: paidAt - 5000, expiresAtMs: paidAt + 3_600_000,
      extra: { traceNo: prng.digits(6), traceTime: "1123101010", accNo: `6216***********${prng.digits(4)}`, txnSubType: "07", bizType: "000000" },
      status: "pending", paidAtMs: undefined, closedAtMs: undefined, bookedAtMs: undefined, buyerId: undefined, bankType: undefined,
      feeMinor: undefined, refunds: [],
    };
    markPaid(payment, paidAt, schedule, { buyerId: `oUpF8${prng.hex(10)}`, bankType: "CMB_DEBIT" });
    if (i % 5 === 1 || i === 4) {
      const part = i === 4 ? 50000n : amount / 2n;
      const r1 = acceptRefund(payment, { outRefundNo: `${payment.outTradeNo}R1`, providerRefundNo: prng.digits(21), amountMinor: part > 0n ? part : amount, reason: undefined, notifyUrl: undefined }, paidAt + 60_000, schedule);
      if (r1.ok) markRefundSucceeded(r1.value, paidAt + 61_000);
      if (i === 4) {
        const r2 = acceptRefund(payment, { outRefundNo: `${payment.outTradeNo}R2`, providerRefundNo: prng.digits(21), amountMinor: amount - 50000n, reason: undefined, notifyUrl: undefined }, paidAt + 120_000, schedule);
        // Accepted on the day, succeeds only after the cut-off: the bill shows it PROCESSING.
        if (r2.ok) markRefundSucceeded(r2.value, DAY_END + 10);
      }
    }
    out.push(payment);
  }
  return out;
}

/** The rows a bill of DAY must contain, computed from the records without the bill code. */
export function expectedRows(payments: readonly PaymentRecord[]): { kind: "payment" | "refund"; outTradeNo: string; amount: bigint; fee: bigint; outRefundNo?: string }[] {
  const rows: { kind: "payment" | "refund"; outTradeNo: string; amount: bigint; fee: bigint; outRefundNo?: string }[] = [];
  for (const p of payments) {
    if (p.paidAtMs !== undefined && p.paidAtMs >= DAY_START && p.paidAtMs < DAY_END) {
      rows.push({ kind: "payment", outTradeNo: p.outTradeNo, amount: p.amountMinor, fee: p.feeMinor ?? -1n });
    }
    for (const r of p.refunds) {
      if (r.createdAtMs >= DAY_START && r.createdAtMs < DAY_END) {
        rows.push({ kind: "refund", outTradeNo: p.outTradeNo, amount: r.amountMinor, fee: r.feeReturnedMinor, outRefundNo: r.outRefundNo });
      }
    }
  }
  const key = (r: { kind: string; outTradeNo: string; outRefundNo?: string }) => `${r.kind}:${r.outTradeNo}:${r.outRefundNo ?? ""}`;
  return rows.sort((a, b) => key(a).localeCompare(key(b)));
}

export function sortRows<T extends { kind: string; outTradeNo: string; outRefundNo?: string }>(rows: T[]): T[] {
  const key = (r: T) => `${r.kind}:${r.outTradeNo}:${r.outRefundNo ?? ""}`;
  return [...rows].sort((a, b) => key(a).localeCompare(key(b)));
}
