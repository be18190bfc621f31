import type { ProviderId } from "@tributary/contracts";
import type { CurrencyCode } from "@tributary/money";

/** What a bill row records: a payment, a refund, or a provider-side adjustment (UnionPay 差错). */
export type BillRowKind = "payment" | "refund" | "adjustment";

/**
 * A row's status in our words. A value the parser does not know becomes
 * `unknown_provider_status` (the raw text is kept in `providerStatus`) and goes to review as a
 * status mismatch; it never turns silently into success.
 */
export type BillRowStatus =
  | "succeeded"
  | "revoked"
  | "refund_succeeded"
  | "refund_processing"
  | "adjusted"
  | "unknown_provider_status";

/** Where a row came from: the file inside the bill and its 1-based line (record) number. */
export interface BillLocation {
  readonly file: string;
  readonly line: number;
}

/**
 * One row of a provider's bill, normalised. Amounts are signed minor units from the merchant's
 * point of view: a payment is positive and a refund negative; a fee charged is positive and a fee
 * given back (with a refund) negative; net = amount − fee. Absent ids are the empty string, and an
 * empty id never matches anything.
 */
export interface BillRow {
  readonly location: BillLocation;
  readonly kind: BillRowKind;
  readonly providerTxnId: string;
  readonly merchantOrderRef: string;
  readonly providerRefundId: string;
  readonly merchantRefundRef: string;
  readonly amountMinor: bigint;
  readonly feeMinor: bigint;
  readonly currency: CurrencyCode;
  readonly status: BillRowStatus;
  /** The provider's own status text, for the report. */
  readonly providerStatus: string;
  /** The time the provider booked the row (epoch ms); it lies inside the bill's day. */
  readonly bookedAtMs: number;
}

/** A bill that parsed and whose own totals agree with its rows. */
export interface ParsedBill {
  readonly provider: ProviderId;
  /** The bill day, YYYY-MM-DD in Asia/Shanghai. */
  readonly billDate: string;
  /** The files the rows came from (a zip holds several). */
  readonly files: readonly string[];
  readonly rows: readonly BillRow[];
}

/** Why a bill was refused. */
export type BillRejectionReason =
  | "truncated"
  | "encoding"
  | "bad_archive"
  | "bad_header"
  | "bad_row"
  | "bad_amount"
  | "bad_time"
  | "totals_mismatch"
  | "outside_bill_day";

/**
 * A bill refused whole: nothing from it is applied. `line` and `column` are 1-based (`column` is
 * the field number for CSV bills, the byte offset for fixed-width ones; 0 when the whole line or
 * file is at fault); `field` names the column where there is one.
 */
export interface BillRejection {
  readonly code: "malformed_bill";
  readonly reason: BillRejectionReason;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly field: string | undefined;
  readonly message: string;
}

/** "file:line:column: message", the form a person greps for. */
export function describeRejection(rejection: BillRejection): string {
  const field = rejection.field === undefined ? "" : ` (${rejection.field})`;
  return `${rejection.file}:${rejection.line}:${rejection.column}: ${rejection.reason}${field}: ${rejection.message}`;
}
