// An independent reader of WeChat Pay trade bills, written from the format description (not from
// the writer): columns are mapped by header name, the backtick prefix is stripped.
export interface ParsedWechatBill {
  header: string[];
  rows: Record<string, string>[];
  summaryHeader: string[];
  summary: Record<string, string>;
  lineEndingsAreCrlf: boolean;
  everyDataCellHasBacktick: boolean;
}

export function parseWechatBill(text: string): ParsedWechatBill {
  const lineEndingsAreCrlf = text.endsWith("\r\n") && !/[^\r]\n/.test(text);
  const lines = text.split("\r\n").filter((l) => l !== "");
  const header = (lines[0] ?? "").split(",");
  const summaryAt = lines.findIndex((l, i) => i > 0 && l.startsWith("总交易单数"));
  if (summaryAt < 0) throw new Error("no summary header");
  let everyDataCellHasBacktick = true;
  const unquote = (cell: string): string => {
    if (!cell.startsWith("`")) everyDataCellHasBacktick = false;
    return cell.startsWith("`") ? cell.slice(1) : cell;
  };
  const toRecord = (names: string[], line: string): Record<string, string> => {
    const cells = line.split(",");
    if (cells.length !== names.length) throw new Error(`row has ${cells.length} cells, header ${names.length}`);
    return Object.fromEntries(names.map((n, i) => [n, unquote(cells[i] ?? "")]));
  };
  const rows = lines.slice(1, summaryAt).map((l) => toRecord(header, l));
  const summaryHeader = (lines[summaryAt] ?? "").split(",");
  const summary = toRecord(summaryHeader, lines[summaryAt + 1] ?? "");
  return { header, rows, summaryHeader, summary, lineEndingsAreCrlf, everyDataCellHasBacktick };
}
