// An independent reader of Alipay trade-bill archives: yauzl reads the zip with raw (undecoded)
// entry names, iconv-lite decodes GBK, and the CSV is mapped by header name.
import iconv from "iconv-lite";
import yauzl from "yauzl";

export interface ZipEntryRaw {
  name: string;
  utf8Flag: boolean;
  data: Buffer;
}

export function readZipRaw(zip: Buffer): Promise<ZipEntryRaw[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true, decodeStrings: false }, (error, file) => {
      if (error || !file) return reject(error ?? new Error("no zip"));
      const out: ZipEntryRaw[] = [];
      file.on("entry", (entry: yauzl.Entry) => {
        file.openReadStream(entry, (e2, stream) => {
          if (e2 || !stream) return reject(e2 ?? new Error("no stream"));
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => {
            out.push({
              name: iconv.decode(entry.fileName as unknown as Buffer, "gbk"),
              utf8Flag: (entry.generalPurposeBitFlag & 0x800) !== 0,
              data: Buffer.concat(chunks),
            });
            file.readEntry();
          });
        });
      });
      file.on("end", () => resolve(out));
      file.on("error", reject);
      file.readEntry();
    });
  });
}

export interface ParsedAlipayCsv {
  preamble: string[];
  header: string[];
  rows: Record<string, string>[];
  footer: string[];
}

function splitCsv(line: string): string[] {
  const cells: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      cells.push(cur);
      cur = "";
    } else cur += ch;
  }
  cells.push(cur);
  return cells;
}

// The list is found by its marker text; the dash counts around it vary between exports
// (41 before and 40 after 业务明细列表, 41 and 36 around 业务明细列表结束 in real files).
const LIST_START = /^#-+业务(?:明细|汇总)列表-+$/;
const LIST_END = /^#-+业务(?:明细|汇总)列表结束-+$/;

export function parseAlipayCsv(gbk: Buffer): ParsedAlipayCsv {
  const text = iconv.decode(gbk, "gbk");
  const lines = text.split(/\r?\n/).filter((l) => l !== "");
  const start = lines.findIndex((l) => LIST_START.test(l));
  const end = lines.findIndex((l) => LIST_END.test(l));
  if (start < 0 || end < start + 1) throw new Error("no 业务明细列表 … 业务明细列表结束 markers");
  const preamble = lines.slice(0, start + 1);
  const header = splitCsv(lines[start + 1] ?? "");
  const footer = lines.slice(end);
  const rows = lines.slice(start + 2, end).map((l) => {
    const cells = splitCsv(l);
    if (cells.length !== header.length) throw new Error(`row has ${cells.length} cells`);
    return Object.fromEntries(header.map((h, k) => [h, cells[k] ?? ""]));
  });
  return { preamble, header, rows, footer };
}
