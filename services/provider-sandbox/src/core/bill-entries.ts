import type { BillDiscrepancy } from "./bill-discrepancies.js";
import { shanghaiDay, shanghaiDayBounds } from "./shanghai-time.js";
import type { PaymentRecord } from "./store.js";

/**
 * One line of a provider's daily bill before formatting: a payment or a refund as booked on
 * that day. Every bill writer formats these, so all providers agree on what a day contains.
 */
export interface BillEntry {
  readonly kind: "payment" | "refund";
  /** The time shown on the row: payment success time, or refund acceptance time. */
  readonly atMs: number;
  readonly outTradeNo: string;
  readonly providerTradeNo: string;
  readonly tradeType: string;
  readonly subject: string;
  readonly attach: string | undefined;
  readonly buyerId: string;
  readonly bankType: string;
  readonly createdAtMs: number;
  /** The original payment amount (fen). */
  readonly orderAmountMinor: bigint;
  /** The payment amount, or the refund amount, positive (fen). */
  readonly amountMinor: bigint;
  /** The fee charged on a payment, or the fee given back with a refund, non-negative (fen). */
  readonly feeMinor: bigint;
  readonly outRefundNo: string | undefined;
  readonly providerRefundNo: string | undefined;
  /** The refund's status at the cut-off (bills are snapshots and are never updated). */
  readonly refundStatus: "processing" | "success" | undefined;
  readonly refundSuccessAtMs: number | undefined;
  /** Set by the `status_difference` discrepancy. */
  readonly revoked: boolean;
  readonly extra: Readonly<Record<string, string>>;
}

/**
 * Collects the entries of one Asia/Shanghai day: payments dated by their booking time, refunds by
 * their acceptance time, then applies the configured discrepancies. Entries are sorted by time.
 */
export function collectBillEntries(
  payments: readonly PaymentRecord[],
  day: string,
  discrepancies: readonly BillDiscrepancy[] = [],
): BillEntry[] {
  const bounds = shanghaiDayBounds(day);
  if (bounds === undefined) throw new Error(`collectBillEntries: bad day ${day}`);
  const within = (ms: number): boolean => ms >= bounds.startMs && ms < bounds.endMs;
  const nextDayRule = discrepancies.find((d) => d.kind === "next_day_booking");
  const bookingDay = (paidAtMs: number): string => {
    if (nextDayRule !== undefined) {
      const ownDay = shanghaiDayBounds(shanghaiDay(paidAtMs));
      if (ownDay !== undefined && ownDay.endMs - paidAtMs <= nextDayRule.withinMsOfCutoff) return shanghaiDay(ownDay.endMs);
    }
    return shanghaiDay(paidAtMs);
  };

  const entries: BillEntry[] = [];
  for (const payment of payments) {
    if (payment.paidAtMs === undefined || payment.feeMinor === undefined) continue;
    const base = {
      outTradeNo: payment.outTradeNo,
      providerTradeNo: payment.providerTradeNo,
      tradeType: payment.tradeType,
      subject: payment.subject,
      attach: payment.attach,
      buyerId: payment.buyerId ?? "",
      bankType: payment.bankType ?? "OTHERS",
      createdAtMs: payment.createdAtMs,
      orderAmountMinor: payment.amountMinor,
      revoked: false,
      extra: payment.extra,
    };
    if (bookingDay(payment.bookedAtMs ?? payment.paidAtMs) === day) {
      // A payment the provider books on a later day than it was paid (next_day_booking) is dated
      // on that day's bill at the day's first instant: a bill's rows all lie inside its day.
      const dayStartMs = bounds.startMs;
      entries.push({
        ...base,
        kind: "payment",
        atMs: payment.paidAtMs < dayStartMs ? dayStartMs : payment.paidAtMs,
        amountMinor: payment.amountMinor,
        feeMinor: payment.feeMinor,
        outRefundNo: undefined,
        providerRefundNo: undefined,
        refundStatus: undefined,
        refundSuccessAtMs: undefined,
      });
    }
    for (const refund of payment.refunds) {
      if (!within(refund.createdAtMs)) continue;
      const succeededByCutoff = refund.successAtMs !== undefined && refund.successAtMs < bounds.endMs;
      entries.push({
        ...base,
        kind: "refund",
        atMs: refund.createdAtMs,
        amountMinor: refund.amountMinor,
        feeMinor: refund.feeReturnedMinor,
        outRefundNo: refund.outRefundNo,
        providerRefundNo: refund.providerRefundNo,
        refundStatus: succeededByCutoff ? "success" : "processing",
        refundSuccessAtMs: succeededByCutoff ? refund.successAtMs : undefined,
      });
    }
  }
  const result = applyDiscrepancies(entries, day, discrepancies);
  return result.sort((a, b) => a.atMs - b.atMs);
}

function applyDiscrepancies(entries: BillEntry[], day: string, discrepancies: readonly BillDiscrepancy[]): BillEntry[] {
  let result = entries;
  const isPaymentOf = (e: BillEntry, outTradeNo: string): boolean => e.kind === "payment" && e.outTradeNo === outTradeNo;
  for (const d of discrepancies) {
    switch (d.kind) {
      case "missing_row":
        result = result.filter((e) => !isPaymentOf(e, d.outTradeNo));
        break;
      case "changed_amount":
        result = result.map((e) => (isPaymentOf(e, d.outTradeNo) ? { ...e, amountMinor: e.amountMinor + d.deltaMinor, orderAmountMinor: e.orderAmountMinor + d.deltaMinor } : e));
        break;
      case "changed_fee":
        result = result.map((e) => (isPaymentOf(e, d.outTradeNo) ? { ...e, feeMinor: e.feeMinor + d.deltaMinor } : e));
        break;
      case "status_difference":
        result = result.map((e) => (isPaymentOf(e, d.outTradeNo) ? { ...e, revoked: true } : e));
        break;
      case "extra_row":
        if (shanghaiDay(d.atMs) === day) {
          result = [
            ...result,
            {
              kind: "payment",
              atMs: d.atMs,
              outTradeNo: d.outTradeNo,
              providerTradeNo: `EXTRA${d.outTradeNo}`.slice(0, 32),
              tradeType: "NATIVE",
              subject: "extra",
              attach: undefined,
              buyerId: "buyer-extra",
              bankType: "OTHERS",
              createdAtMs: d.atMs,
              orderAmountMinor: d.amountMinor,
              amountMinor: d.amountMinor,
              feeMinor: 0n,
              outRefundNo: undefined,
              providerRefundNo: undefined,
              refundStatus: undefined,
              refundSuccessAtMs: undefined,
              revoked: false,
              extra: {},
            },
          ];
        }
        break;
      case "next_day_booking":
        break;
    }
  }
  return result;
}
