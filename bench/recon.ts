/**
 * `npm run bench -- recon`: a generated WeChat trade bill (BENCH_RECON_LINES detail lines,
 * 1,000,000 unless told; current 27-column ALL format, backtick cells, CRLF, a summary that adds
 * up) parsed and matched against the same number of ledger records, against parse-only and
 * against a bare line split of the same file, in the same run.
 * - baseline: node:readline over the file, each line split on commas — no decoding checks,
 *   amounts, times or rows.
 * - parse-only: `parseWechatTradeBill` of @tributary/reconciliation streaming the file: every
 *   cell checked, every amount parsed exactly, times and the bill's day checked, the summary checked.
 * - subject: the same parse, then `matchBill` against one ledger record per row (all matching).
 * Each side runs in a child process of its own, so its peak RSS (`maxRSS`) is its own; each runs
 * BENCH_ROUNDS (3 unless told) times, alternating, and the medians are reported.
 * Differences from the issue: our ledger records come from memory (generated as the bill is),
 * not streamed from settlement over gRPC — settlement's gRPC stream does not exist yet; and the
 * match keeps every row and record in memory, so peak RSS grows with the bill.
 * Last stdout line: `{"bench":"recon","ratio":…,"subject":{"linesPerSecond":…,"peakRssMb":…},…}`
 * with `ratio` = parse+match time / parse-only time (median of per-round ratios).
 */
import { execFileSync } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { dayEndMs, daysBetween, matchBill, parseWechatTradeBill, type LedgerRecord } from "@tributary/reconciliation";
import { log, median } from "./_rounds.js";

const DAY = "2026-11-23";
const DAY_START_MS = Date.parse("2026-11-22T16:00:00Z");
const lines = Number.parseInt(process.env["BENCH_RECON_LINES"] ?? "1000000", 10);
const rounds = Number.parseInt(process.env["BENCH_ROUNDS"] ?? "3", 10);

/** Row `i` of the generated day: deterministic, so the ledger side is generated the same way. */
function rowOf(i: number): { amountMinor: bigint; feeMinor: bigint; atMs: number; txn: string; order: string } {
  const amountMinor = BigInt(100 + ((i * 7_919) % 500_000));
  return {
    amountMinor,
    feeMinor: (amountMinor * 6n + 500n) / 1_000n, // 0.60 %, half-up to the fen
    atMs: DAY_START_MS + Math.floor((i * 86_000_000) / Math.max(1, lines)),
    txn: `4200${String(i).padStart(24, "0")}`,
    order: `ORD${String(i).padStart(12, "0")}`,
  };
}

const yuan = (fen: bigint, fractionDigits = 2): string => `${fen / 100n}.${String(fen % 100n).padStart(2, "0")}${fractionDigits === 5 ? "000" : ""}`;
const wallClock = (ms: number): string => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19).replace("T", " ");

async function writeBill(path: string): Promise<void> {
  const out = createWriteStream(path);
  const write = (text: string): Promise<void> => (out.write(text) ? Promise.resolve() : new Promise((resolve) => out.once("drain", () => resolve())));
  await write("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n");
  let total = 0n;
  let fees = 0n;
  let chunk = "";
  for (let i = 0; i < lines; i++) {
    const r = rowOf(i);
    total += r.amountMinor;
    fees += r.feeMinor;
    const cells = [wallClock(r.atMs), "wx01", "1900000001", "0", "", r.txn, r.order, "oUpF8bench", "NATIVE", "SUCCESS", "CMB_DEBIT", "CNY", yuan(r.amountMinor), "0.00", "0", "0", "0.00", "0.00", "", "", "Coffee", "", yuan(r.feeMinor, 5), "0.60%", yuan(r.amountMinor), "0.00", ""];
    chunk += `${cells.map((c) => `\`${c}`).join(",")}\r\n`;
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = "";
    }
  }
  await write(chunk);
  await write("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n");
  await write(`\`${lines},\`${yuan(total)},\`0.00,\`0.00,\`${yuan(fees, 5)},\`${yuan(total)},\`0.00\r\n`);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

/** One side, in this (child) process: its time in ms and the lines it handled. */
async function runPhase(phase: string, path: string): Promise<{ ms: number; lines: number }> {
  // Our records stand in for settlement's stream; made before the clock starts.
  const ledgerRecords: LedgerRecord[] =
    phase !== "match"
      ? []
      : Array.from({ length: lines }, (_, i) => {
          const r = rowOf(i);
          return { recordId: `r${i}`, kind: "payment", providerTxnId: r.txn, merchantOrderRef: r.order, providerRefundId: "", merchantRefundRef: "", amountMinor: r.amountMinor, feeMinor: r.feeMinor, currency: "CNY", status: "succeeded", bookedAtMs: r.atMs, businessDate: DAY };
        });
  const started = performance.now();
  if (phase === "split") {
    let count = 0;
    let cells = 0;
    for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      cells += line.split(",").length;
      count++;
    }
    if (cells === 0) throw new Error("no cells");
    return { ms: performance.now() - started, lines: count };
  }
  const parsed = await parseWechatTradeBill({ bytes: createReadStream(path), file: "bench.csv", billDate: DAY });
  if (!parsed.ok) throw new Error(`the generated bill did not parse: ${parsed.error.message}`);
  if (phase === "match") {
    const outcome = matchBill({ billDate: DAY, billRows: parsed.value.rows, ledgerRecords, carried: [], dayEndMs, daysBetween });
    const matched = outcome.items.filter((item) => item.matchClass === "matched").length;
    if (matched !== lines) throw new Error(`${matched} of ${lines} matched`);
  }
  return { ms: performance.now() - started, lines: parsed.value.rows.length };
}

const [phaseArg, pathArg] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
if (phaseArg !== undefined && pathArg !== undefined) {
  const result = await runPhase(phaseArg, pathArg);
  process.stdout.write(`${JSON.stringify({ ...result, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
} else {
  const dir = mkdtempSync(join(tmpdir(), "bench-recon-"));
  const path = join(dir, "wechat-tradebill.csv");
  try {
    log(`bench recon: writing a ${lines.toLocaleString("en")}-line WeChat bill`);
    await writeBill(path);
    const self = fileURLToPath(import.meta.url);
    const phase = (name: string): { ms: number; lines: number; peakRssMb: number } => {
      const out = execFileSync(process.execPath, [...process.execArgv, self, name, path], { encoding: "utf8", maxBuffer: 1 << 20 });
      return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { ms: number; lines: number; peakRssMb: number };
    };
    const results: Record<"split" | "parse" | "match", { ms: number; lines: number; peakRssMb: number }[]> = { split: [], parse: [], match: [] };
    for (let round = 0; round < rounds; round++) {
      for (const name of ["split", "parse", "match"] as const) {
        const r = phase(name);
        results[name].push(r);
        log(`round ${round + 1} ${name}: ${Math.round(r.ms)} ms, ${Math.round(r.lines / (r.ms / 1000)).toLocaleString("en")} lines/s, peak RSS ${Math.round(r.peakRssMb)} MB`);
      }
    }
    const rate = (name: "split" | "parse" | "match"): number => Math.round(median(results[name].map((r) => r.lines / (r.ms / 1000))));
    const rss = (name: "split" | "parse" | "match"): number => Math.round(Math.max(...results[name].map((r) => r.peakRssMb)));
    const ratio = median(results.match.map((m, i) => m.ms / (results.parse[i]?.ms ?? m.ms)));
    const splitRatio = median(results.match.map((m, i) => m.ms / (results.split[i]?.ms ?? m.ms)));
    console.log(
      JSON.stringify({
        bench: "recon",
        lines,
        rounds,
        ratio: Number(ratio.toFixed(3)),
        subject: { linesPerSecond: rate("match"), peakRssMb: rss("match") },
        parseOnly: { linesPerSecond: rate("parse"), peakRssMb: rss("parse") },
        baseline: { linesPerSecond: rate("split"), peakRssMb: rss("split") },
        subjectOverSplit: Number(splitRatio.toFixed(2)),
        goal: { linesPerSecond: 100_000, ratio: 2, peakRssMb: 512 },
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
