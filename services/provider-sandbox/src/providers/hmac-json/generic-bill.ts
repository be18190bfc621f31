import { collectBillEntries } from "../../core/bill-entries.js";
import type { BillDiscrepancy } from "../../core/bill-discrepancies.js";
import { formatShanghai } from "../../core/shanghai-time.js";
import type { PaymentRecord, SandboxProviderName } from "../../core/store.js";

/** The columns of our own JD Pay / e-CNY bill CSV (see the README). */
export const GENERIC_BILL_HEADER: readonly string[] = [
  "record_type", "booked_at", "provider_trade_no", "out_trade_no", "provider_refund_no", "out_refund_no",
  "amount_minor", "fee_minor", "net_minor", "currency", "status",
];

/**
 * Writes the daily bill of our own design for JD Pay and e-CNY: UTF-8, LF, a `#` preamble line,
 * the header, one row per payment or refund with signed integer fen (refunds and returned fees
 * negative), and a `#totals` trailer whose sums equal the rows.
 */
export function writeGenericBill(input: {
  provider: SandboxProviderName;
  merchantId: string;
  day: string;
  payments: readonly PaymentRecord[];
  discrepancies?: readonly BillDiscrepancy[];
}): string {
  const entries = collectBillEntries(input.payments, input.day, input.discrepancies ?? []);
  let amountTotal = 0n;
  let feeTotal = 0n;
  const rows = entries.map((e) => {
    const payment = e.kind === "payment";
    const amount = payment ? e.amountMinor : -e.amountMinor;
    const fee = payment ? e.feeMinor : -e.feeMinor;
    amountTotal += amount;
    feeTotal += fee;
    return [
      payment ? "PAYMENT" : "REFUND",
      `${formatShanghai(e.atMs, "yyyy-MM-ddTHH:mm:ss.SSS")}+08:00`,
      e.providerTradeNo,
      e.outTradeNo,
      e.providerRefundNo ?? "",
      e.outRefundNo ?? "",
      amount.toString(),
      fee.toString(),
      (amount - fee).toString(),
      "CNY",
      payment ? (e.revoked ? "REVOKED" : "SUCCEEDED") : e.refundStatus === "success" ? "SUCCEEDED" : "PROCESSING",
    ].join(",");
  });
  return [
    `#tributary-bill v1 provider=${input.provider} merchant=${input.merchantId} date=${input.day} timezone=Asia/Shanghai`,
    GENERIC_BILL_HEADER.join(","),
    ...rows,
    `#totals count=${entries.length} amount_minor=${amountTotal} fee_minor=${feeTotal} net_minor=${amountTotal - feeTotal}`,
  ].join("\n") + "\n";
}
