import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BillRow } from "../domain/bill.js";

/** The fixture folder: bills written by the provider sandbox's own bill writers (see README). */
export const FIXTURES = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));

/** Reads one fixture file's bytes. */
export function fixture(name: string): Buffer {
  return readFileSync(`${FIXTURES}${name}`);
}

/** A row the sandbox says its bill holds: what it processed, computed without the bill code. */
export interface ExpectedRow {
  readonly kind: "payment" | "refund";
  readonly outTradeNo: string;
  readonly amount: string;
  readonly fee: string;
  readonly outRefundNo?: string;
}

/** The expected rows of a fixture, from the sandbox's records. */
export function expectedRows(name: string): ExpectedRow[] {
  return JSON.parse(readFileSync(`${FIXTURES}${name}`, "utf8")) as ExpectedRow[];
}

/** A parsed row in the expected rows' shape (amounts as positive magnitudes, like the sandbox's). */
export function asExpected(row: BillRow): ExpectedRow {
  const refund = row.kind === "refund";
  return {
    kind: refund ? "refund" : "payment",
    outTradeNo: row.merchantOrderRef,
    amount: (refund ? -row.amountMinor : row.amountMinor).toString(),
    fee: (refund ? -row.feeMinor : row.feeMinor).toString(),
    ...(refund ? { outRefundNo: row.merchantRefundRef } : {}),
  };
}

/** Sorted like the sandbox sorts its expected rows. */
export function sortExpected(rows: readonly ExpectedRow[]): ExpectedRow[] {
  const key = (r: ExpectedRow): string => `${r.kind}:${r.outTradeNo}:${r.outRefundNo ?? ""}`;
  return [...rows].sort((a, b) => key(a).localeCompare(key(b)));
}
