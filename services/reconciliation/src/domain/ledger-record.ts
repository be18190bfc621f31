import type { CurrencyCode } from "@tributary/money";
import type { BillRowKind } from "./bill.js";

/** Where our own ledger says a payment, refund or adjustment stands. */
export type LedgerStatus = "succeeded" | "refund_succeeded" | "adjusted";

/**
 * One of our records for a provider's business day: what settlement posted. Amounts follow the
 * bill rows' convention (signed, merchant's view: payments and fees charged positive, refunds and
 * fees given back negative). Ids we do not have are the empty string.
 */
export interface LedgerRecord {
  /** Our own id of the record (posting or payment id), unique per provider. */
  readonly recordId: string;
  readonly kind: BillRowKind;
  readonly providerTxnId: string;
  readonly merchantOrderRef: string;
  readonly providerRefundId: string;
  readonly merchantRefundRef: string;
  readonly amountMinor: bigint;
  readonly feeMinor: bigint;
  readonly currency: CurrencyCode;
  readonly status: LedgerStatus;
  /** When we booked it (epoch ms). */
  readonly bookedAtMs: number;
  /** Our business day for it, YYYY-MM-DD Asia/Shanghai. */
  readonly businessDate: string;
}
