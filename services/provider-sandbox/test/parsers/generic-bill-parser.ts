// An independent reader of our own JD Pay / e-CNY bill CSV (format in the README).
export interface ParsedGenericBill {
  preamble: Record<string, string>;
  rows: Record<string, string>[];
  totals: Record<string, string>;
}

function kv(line: string): Record<string, string> {
  return Object.fromEntries(line.split(" ").slice(1).map((p) => p.split("=") as [string, string]));
}

export function parseGenericBill(text: string): ParsedGenericBill {
  const lines = text.split("\n").filter((l) => l !== "");
  const first = lines[0] ?? "";
  const last = lines[lines.length - 1] ?? "";
  if (!first.startsWith("#tributary-bill v1") || !last.startsWith("#totals")) throw new Error("bad preamble or trailer");
  const header = (lines[1] ?? "").split(",");
  const rows = lines.slice(2, -1).map((l) => Object.fromEntries(l.split(",").map((c, i) => [header[i] ?? `${i}`, c])));
  return { preamble: kv(first), rows, totals: kv(last) };
}
