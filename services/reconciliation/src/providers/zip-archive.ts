import iconv from "iconv-lite";
import JSZip from "jszip";
import { BillFormatError } from "./bill-reader.js";

/** One file inside a bill archive: its name as the provider wrote it, and its bytes. */
export interface ArchiveEntry {
  readonly name: string;
  readonly bytes: Buffer;
}

/**
 * Opens a bill archive with JSZip. Entry names without the UTF-8 flag are decoded as GBK (Alipay
 * writes GBK names with the flag unset; JSZip would otherwise read them as CP437); a name carried
 * in an Info-ZIP unicode-path extra field is taken from there, as JSZip does. A damaged archive
 * (bad signature, truncated, CRC mismatch) refuses the bill.
 */
export async function openArchive(bytes: Uint8Array, file: string): Promise<ArchiveEntry[]> {
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(bytes, {
      checkCRC32: true,
      decodeFileName: (name: string[] | Uint8Array | Buffer) => iconv.decode(Buffer.from(name as Uint8Array), "gbk"),
    });
  } catch (error) {
    throw new BillFormatError("bad_archive", file, 0, 0, undefined, `not a readable zip: ${error instanceof Error ? error.message : String(error)}`);
  }
  const entries: ArchiveEntry[] = [];
  for (const entry of Object.values(zip.files)) {
    if (entry.dir) continue;
    try {
      entries.push({ name: entry.name, bytes: await entry.async("nodebuffer") });
    } catch (error) {
      throw new BillFormatError("bad_archive", `${file}/${entry.name}`, 0, 0, undefined, `cannot inflate: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return entries;
}
