import type { ProviderId } from "@tributary/contracts";
import { parseCurrencyCode } from "@tributary/money";
import type { Result } from "@tributary/result";
import type { BillRejection, BillRow, BillRowStatus, ParsedBill } from "../../domain/bill.js";
import {
  BillFormatError,
  columnIndex,
  csvRecords,
  fenCell,
  rejectOnFormatError,
  requireWithinDay,
  shanghaiDayBounds,
  type BillBytes,
  type ProgressListener,
  type CellAt,
} from "../bill-reader.js";

const REQUIRED = ["record_type", "booked_at", "provider_trade_no", "out_trade_no", "provider_refund_no", "out_refund_no", "amount_minor", "fee_minor", "net_minor", "currency", "status"] as const;
const ISO_SHANGHAI = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?\+08:00$/;

/** `k=v` pairs of a `#` line ("#totals count=2 amount_minor=100000"). */
function pairs(line: string): ReadonlyMap<string, string> {
  return new Map(line.split(/\s+/).filter((p) => p.includes("=")).map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
}

function statusOf(recordType: string, status: string): { kind: "payment" | "refund"; status: BillRowStatus } {
  const refund = recordType === "REFUND";
  switch (status) {
    case "SUCCEEDED":
      return { kind: refund ? "refund" : "payment", status: refund ? "refund_succeeded" : "succeeded" };
    case "PROCESSING":
      return { kind: refund ? "refund" : "payment", status: refund ? "refund_processing" : "unknown_provider_status" };
    case "REVOKED":
      return { kind: refund ? "refund" : "payment", status: refund ? "unknown_provider_status" : "revoked" };
    default:
      return { kind: refund ? "refund" : "payment", status: "unknown_provider_status" };
  }
}

/**
 * Parses the bill of our own design that JD Pay and e-CNY serve (the sandbox README's "Bill CSV"):
 * UTF-8, a `#tributary-bill v1 provider=… date=…` line that must name this provider and day, the
 * header mapped by name, signed integer fen (refunds and returned fees negative, net = amount −
 * fee on every row), and a `#totals` trailer that must equal the rows.
 */
export async function parseGenericBill(input: {
  readonly bytes: BillBytes;
  readonly file: string;
  readonly billDate: string;
  readonly onProgress?: ProgressListener;
  readonly provider: Extract<ProviderId, "jd_pay" | "ecny">;
  /** The provider's name in the bill's first line (`jdpay`, `ecny`). */
  readonly providerName: string;
}): Promise<Result<ParsedBill, BillRejection>> {
  return rejectOnFormatError(async () => {
    const { file, billDate } = input;
    const bounds = shanghaiDayBounds(billDate);
    if (bounds === undefined) throw new RangeError(`parseGenericBill: bad bill date ${billDate}`);
    let preamble = false;
    let index: ReadonlyMap<string, number> | undefined;
    let headerLength = 0;
    let trailer: { values: ReadonlyMap<string, string>; line: number } | undefined;
    let lastLine = 0;
    const rows: BillRow[] = [];
    const sums = { count: 0n, amount: 0n, fee: 0n, net: 0n };

    for await (const record of csvRecords(input.bytes, { file, encoding: "utf8", quote: true, onProgress: input.onProgress })) {
      lastLine = record.line;
      const joined = record.cells.join(",");
      if (trailer !== undefined) throw new BillFormatError("bad_row", file, record.line, 1, undefined, "a line after #totals");
      if (!preamble) {
        const values = pairs(joined);
        if (!joined.startsWith("#tributary-bill v1")) throw new BillFormatError("bad_header", file, record.line, 1, undefined, "the bill does not start with #tributary-bill v1");
        if (values.get("provider") !== input.providerName) throw new BillFormatError("bad_header", file, record.line, 1, "provider", `a bill of ${values.get("provider") ?? "no provider"}, not ${input.providerName}`);
        if (values.get("date") !== billDate) throw new BillFormatError("outside_bill_day", file, record.line, 1, "date", `a bill of ${values.get("date") ?? "no date"}, not ${billDate}`);
        preamble = true;
        continue;
      }
      if (index === undefined) {
        index = columnIndex(record.cells);
        headerLength = record.cells.length;
        for (const name of REQUIRED) if (!index.has(name)) throw new BillFormatError("bad_header", file, record.line, 0, name, `the header has no ${name} column`);
        continue;
      }
      if (joined.startsWith("#totals")) {
        trailer = { values: pairs(joined), line: record.line };
        continue;
      }
      if (record.cells.length !== headerLength) throw new BillFormatError("bad_row", file, record.line, Math.min(record.cells.length, headerLength), undefined, `${record.cells.length} cells where the header has ${headerLength}`);
      const columns = index;
      const cell = (name: string): string => record.cells[columns.get(name) ?? -1] ?? "";
      const at = (name: string): CellAt => ({ file, line: record.line, column: (columns.get(name) ?? -1) + 1, field: name });
      const amountMinor = fenCell(cell("amount_minor"), at("amount_minor"));
      const feeMinor = fenCell(cell("fee_minor"), at("fee_minor"));
      const netMinor = fenCell(cell("net_minor"), at("net_minor"));
      if (netMinor !== amountMinor - feeMinor) throw new BillFormatError("totals_mismatch", file, record.line, at("net_minor").column, "net_minor", `net ${netMinor} is not amount − fee (${amountMinor - feeMinor})`);
      const bookedAt = cell("booked_at");
      const bookedAtMs = ISO_SHANGHAI.test(bookedAt) ? Date.parse(bookedAt) : Number.NaN;
      if (Number.isNaN(bookedAtMs)) throw new BillFormatError("bad_time", file, record.line, at("booked_at").column, "booked_at", `${JSON.stringify(bookedAt)} is not an ISO time at +08:00`);
      requireWithinDay(bookedAtMs, bounds, billDate, at("booked_at"));
      const currency = parseCurrencyCode(cell("currency"));
      if (!currency.ok) throw new BillFormatError("bad_row", file, record.line, at("currency").column, "currency", `unknown currency ${JSON.stringify(cell("currency"))}`);
      const { kind, status } = statusOf(cell("record_type"), cell("status"));
      if (kind === "refund" ? amountMinor > 0n : amountMinor < 0n) throw new BillFormatError("bad_amount", file, record.line, at("amount_minor").column, "amount_minor", `a ${cell("record_type")} with the wrong sign`);
      sums.count++;
      sums.amount += amountMinor;
      sums.fee += feeMinor;
      sums.net += netMinor;
      rows.push({
        location: { file, line: record.line },
        kind,
        providerTxnId: cell("provider_trade_no"),
        merchantOrderRef: cell("out_trade_no"),
        providerRefundId: cell("provider_refund_no"),
        merchantRefundRef: cell("out_refund_no"),
        amountMinor,
        feeMinor,
        currency: currency.value,
        status,
        providerStatus: `${cell("record_type")}/${cell("status")}`,
        bookedAtMs,
      });
    }
    if (index === undefined || trailer === undefined) throw new BillFormatError("truncated", file, lastLine, 0, undefined, "the bill ends before its #totals line");
    for (const [name, sum] of [["count", sums.count], ["amount_minor", sums.amount], ["fee_minor", sums.fee], ["net_minor", sums.net]] as const) {
      const stated = trailer.values.get(name);
      if (stated !== sum.toString()) throw new BillFormatError("totals_mismatch", file, trailer.line, 1, name, `#totals says ${name}=${stated ?? "nothing"}, the rows add up to ${sum}`);
    }
    return { provider: input.provider, billDate, files: [file], rows };
  });
}
