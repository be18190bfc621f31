import type { BillRow, BillRowKind, BillRowStatus } from "../domain/bill.js";
import type { CurrencyCode } from "@tributary/money";

/**
 * A chunk of bill rows in flat arrays, for handing rows from a parsing thread to a matching one.
 * A structured clone of the rows themselves gives every row fresh copies of its kind, status,
 * currency, provider status and file name (five small strings, held for the matching window) and
 * costs the receiving thread a generic deserialisation; here those five are indices into a table
 * both sides keep (each distinct text crosses once), the four ids are cut from one string, and
 * numbers and amounts travel in typed arrays whose buffers are transferred, not copied.
 */
export interface PackedBillRows {
  /** Texts new to the table since the last chunk, in the order they were added. */
  readonly added: string[];
  /** The four ids of every row, one after another. */
  readonly ids: string;
  /** Per row: the lengths of providerTxnId, merchantOrderRef, providerRefundId, merchantRefundRef. */
  readonly idLengths: Uint32Array;
  /** Per row: table indices of kind, status, currency, providerStatus and file. */
  readonly codes: Uint32Array;
  /** Per row: line and bookedAtMs. */
  readonly numbers: Float64Array;
  /** Per row: amountMinor and feeMinor. */
  readonly amounts: BigInt64Array;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const fitsInt64 = (value: bigint): boolean => value >= INT64_MIN && value <= INT64_MAX;

/** The sender's side of the text table: each distinct text gets the next index. */
export class PackTable {
  private readonly index = new Map<string, number>();
  private pending: string[] = [];
  code(text: string): number {
    let at = this.index.get(text);
    if (at === undefined) {
      at = this.index.size;
      this.index.set(text, at);
      this.pending.push(text);
    }
    return at;
  }
  /** The texts added since the last call. */
  takeAdded(): string[] {
    const added = this.pending;
    this.pending = [];
    return added;
  }
}

/**
 * Packs rows for {@link unpackBillRows}; `undefined` when an amount does not fit in 64 bits (the
 * caller then sends the rows as they are). Nothing is added to the table unless the chunk packs.
 */
export function packBillRows(rows: readonly BillRow[], table: PackTable): PackedBillRows | undefined {
  for (const row of rows) if (!fitsInt64(row.amountMinor) || !fitsInt64(row.feeMinor)) return undefined;
  const n = rows.length;
  const idLengths = new Uint32Array(n * 4);
  const codes = new Uint32Array(n * 5);
  const numbers = new Float64Array(n * 2);
  const amounts = new BigInt64Array(n * 2);
  let ids = "";
  for (let i = 0; i < n; i++) {
    const row = rows[i] as BillRow;
    ids += row.providerTxnId + row.merchantOrderRef + row.providerRefundId + row.merchantRefundRef;
    idLengths[i * 4] = row.providerTxnId.length;
    idLengths[i * 4 + 1] = row.merchantOrderRef.length;
    idLengths[i * 4 + 2] = row.providerRefundId.length;
    idLengths[i * 4 + 3] = row.merchantRefundRef.length;
    codes[i * 5] = table.code(row.kind);
    codes[i * 5 + 1] = table.code(row.status);
    codes[i * 5 + 2] = table.code(row.currency);
    codes[i * 5 + 3] = table.code(row.providerStatus);
    codes[i * 5 + 4] = table.code(row.location.file);
    numbers[i * 2] = row.location.line;
    numbers[i * 2 + 1] = row.bookedAtMs;
    amounts[i * 2] = row.amountMinor;
    amounts[i * 2 + 1] = row.feeMinor;
  }
  return { added: table.takeAdded(), ids, idLengths, codes, numbers, amounts };
}

/** The buffers of a packed chunk, to transfer rather than copy. */
export function transferListOf(packed: PackedBillRows): ArrayBuffer[] {
  return [packed.idLengths.buffer, packed.codes.buffer, packed.numbers.buffer, packed.amounts.buffer] as ArrayBuffer[];
}

/**
 * The rows of a packed chunk, equal to the rows packed. `table` is the receiver's copy of the
 * texts (appended to from `added`); chunks must be unpacked in the order they were packed.
 */
export function unpackBillRows(packed: PackedBillRows, table: string[]): BillRow[] {
  for (const text of packed.added) table.push(text);
  const { ids, idLengths, codes, numbers, amounts } = packed;
  const n = numbers.length / 2;
  const rows = new Array<BillRow>(n);
  let at = 0;
  const cut = (length: number): string => {
    if (length === 0) return "";
    const text = ids.slice(at, at + length);
    at += length;
    return text;
  };
  const text = (code: number): string => {
    const value = table[code];
    if (value === undefined) throw new Error(`unpackBillRows: text ${code} is not in the table`);
    return value;
  };
  for (let i = 0; i < n; i++) {
    const providerTxnId = cut(idLengths[i * 4] as number);
    const merchantOrderRef = cut(idLengths[i * 4 + 1] as number);
    const providerRefundId = cut(idLengths[i * 4 + 2] as number);
    const merchantRefundRef = cut(idLengths[i * 4 + 3] as number);
    rows[i] = {
      location: { file: text(codes[i * 5 + 4] as number), line: numbers[i * 2] as number },
      kind: text(codes[i * 5] as number) as BillRowKind,
      providerTxnId,
      merchantOrderRef,
      providerRefundId,
      merchantRefundRef,
      amountMinor: amounts[i * 2] as bigint,
      feeMinor: amounts[i * 2 + 1] as bigint,
      currency: text(codes[i * 5 + 2] as number) as CurrencyCode,
      status: text(codes[i * 5 + 1] as number) as BillRowStatus,
      providerStatus: text(codes[i * 5 + 3] as number),
      bookedAtMs: numbers[i * 2 + 1] as number,
    };
  }
  if (at !== ids.length) throw new Error(`unpackBillRows: ${ids.length - at} id characters left over`);
  return rows;
}
