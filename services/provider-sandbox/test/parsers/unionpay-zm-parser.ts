// An independent reader of UnionPay ZM / ZME files: fixed byte widths from the ACP SDK, one
// separator byte between fields, GBK text.
import iconv from "iconv-lite";

export const ZM_WIDTHS = [3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1, 21, 15, 1, 15, 32, 13, 13, 8, 32, 13, 13, 12, 2, 1, 32, 98];
export const ZME_WIDTHS = [3, 11, 11, 6, 10, 19, 12, 4, 2, 2, 6, 10, 4, 12, 13, 13, 15, 15, 1, 12, 2, 135];

export function parseFixedWidth(file: Buffer, widths: readonly number[]): string[][] {
  const recordLength = widths.reduce((a, b) => a + b, 0) + widths.length - 1;
  const records: string[][] = [];
  let offset = 0;
  while (offset < file.length) {
    const record = file.subarray(offset, offset + recordLength);
    if (record.length !== recordLength) throw new Error(`short record at ${offset}`);
    if (file[offset + recordLength] !== 0x0d || file[offset + recordLength + 1] !== 0x0a) throw new Error("record not CRLF-terminated");
    const fields: string[] = [];
    let at = 0;
    for (const w of widths) {
      fields.push(iconv.decode(record.subarray(at, at + w), "gbk").trimEnd());
      at += w + 1;
    }
    records.push(fields);
    offset += recordLength + 2;
  }
  return records;
}

/** "C000000000779" → 779n; "D000000000779" → -779n. */
export function signedFen(field: string): bigint {
  const m = /^([CD])(\d{12})$/.exec(field);
  if (!m) throw new Error(`bad signed amount ${field}`);
  return m[1] === "C" ? BigInt(m[2]!) : -BigInt(m[2]!);
}
