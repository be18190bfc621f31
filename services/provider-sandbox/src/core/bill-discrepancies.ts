/**
 * Deliberate differences between what the sandbox processed and what its bill says, for
 * reconciliation tests. Each names the merchant order it applies to, except the cut-off rule.
 */
export type BillDiscrepancy =
  /** The payment row is left out of the bill. */
  | { readonly kind: "missing_row"; readonly outTradeNo: string }
  /** The bill carries a payment the sandbox never processed, at `atMs`. */
  | { readonly kind: "extra_row"; readonly outTradeNo: string; readonly amountMinor: bigint; readonly atMs: number }
  /** The payment row's amount is off by `deltaMinor` fen. */
  | { readonly kind: "changed_amount"; readonly outTradeNo: string; readonly deltaMinor: bigint }
  /** The payment row's fee is off by `deltaMinor` fen. */
  | { readonly kind: "changed_fee"; readonly outTradeNo: string; readonly deltaMinor: bigint }
  /** The payment row shows the payment as revoked although it succeeded. */
  | { readonly kind: "status_difference"; readonly outTradeNo: string }
  /**
   * Payments made within `withinMsOfCutoff` before 00:00 Asia/Shanghai are booked on the next
   * day's bill (a payment at 23:59:59.900 appears on tomorrow's bill).
   */
  | { readonly kind: "next_day_booking"; readonly withinMsOfCutoff: number };
