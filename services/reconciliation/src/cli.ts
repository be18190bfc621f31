/**
 * `recon`: finance's and on-call's command for reconciliation — run a provider's day by hand
 * (fetched through its download API, or from a file), list the exceptions queue and resolve an
 * exception. A composition root like main.ts: the only other place that reads `process.env`.
 * Exit codes: 0 done and nothing open, 1 exceptions remain open, 2 the bill was rejected, 3 the
 * bill could not be fetched, 4 bad arguments or a refused resolve.
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import cliProgress from "cli-progress";
import Table from "cli-table3";
import { Command, InvalidArgumentError } from "commander";
import { formatDecimal, money, parseCurrencyCode, parseDecimal } from "@tributary/money";
import pg from "pg";
import { inTransaction } from "./adapters/db/in-transaction.js";
import { createPgExceptionQueue } from "./adapters/db/pg-exception-queue.js";
import { createReconOutbox } from "./adapters/kafka/recon-outbox.js";
import { listExceptions, resolveException, type AdjustmentToApprove, type ExceptionStatus, type ReconException } from "./app/exceptions.js";
import { reconcileBill, type ReconcileOutcome } from "./app/reconcile-bill.js";
import { describeRejection } from "./domain/bill.js";
import { DEFAULT_MATCH_CONFIG, MATCH_CLASSES } from "./domain/match.js";
import { shanghaiDayBounds } from "./domain/shanghai-calendar.js";
import { createBillSource } from "./providers/bill-sources.js";
import type { FetchedBill } from "./providers/bill-source.js";
import { parseProviderName } from "./provider-name.js";
import { pgReconDeps } from "./recon-deps.js";
import { readSourceConfig } from "./source-config-file.js";

const databaseUrl = process.env["RECONCILIATION_DATABASE_URL"] ?? "postgresql://postgres@127.0.0.1:5432/tributary_reconciliation";
const sourceConfigPath = process.env["RECONCILIATION_SOURCE_CONFIG"];
const queue = createPgExceptionQueue();
const outbox = createReconOutbox();

const provider = (text: string) => {
  const id = parseProviderName(text);
  if (id === undefined) throw new InvalidArgumentError("not a provider: wechat, alipay, unionpay, jdpay or ecny");
  return id;
};
const day = (text: string): string => {
  if (shanghaiDayBounds(text) === undefined) throw new InvalidArgumentError("not a day YYYY-MM-DD");
  return text;
};
const days = (text: string): number => {
  if (!/^\d{1,3}$/.test(text)) throw new InvalidArgumentError("not a number of days");
  return Number(text);
};

function yuan(amountMinor: bigint | undefined, currency = "CNY"): string {
  if (amountMinor === undefined) return "";
  const code = parseCurrencyCode(currency);
  return code.ok ? formatDecimal(money(amountMinor, code.value)) : amountMinor.toString();
}

/** Line ends in a text bill: the progress bar's total. */
function countLines(bytes: Buffer): number {
  let lines = 0;
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) lines++;
  return lines;
}

const asJson = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);

function exceptionTable(exceptions: readonly ReconException[]): string {
  const table = new Table({ head: ["id", "day", "class", "status", "bill", "ours", "where", "what"], wordWrap: true, colWidths: [38, 12, 18, 10, 12, 12, 30, 50] });
  for (const e of exceptions) table.push([e.exceptionId, e.billDate, e.matchClass, e.status, yuan(e.billAmountMinor, e.currency), yuan(e.ledgerAmountMinor, e.currency), e.billLocations, e.description]);
  return table.toString();
}

function runSummary(outcome: Extract<ReconcileOutcome, { kind: "completed" }>): string {
  const table = new Table({ head: ["class", "items", "bill amount", "our amount"] });
  for (const c of MATCH_CLASSES) {
    const t = outcome.totals[c];
    if (t.count > 0) table.push([c, String(t.count), yuan(t.billAmountMinor), yuan(t.ledgerAmountMinor)]);
  }
  return table.toString();
}

const program = new Command("recon").description("Reconcile providers' bills against our ledger, and work the exceptions queue.");

program
  .command("run")
  .description("reconcile one provider's bill for one day")
  .requiredOption("--provider <provider>", "wechat, alipay, unionpay, jdpay or ecny", provider)
  .requiredOption("--date <day>", "the bill day, YYYY-MM-DD (Asia/Shanghai)", day)
  .option("--file <path>", "use this bill file instead of downloading it")
  .option("--exception-after-days <n>", "days an unmatched item waits before it is an exception", days, DEFAULT_MATCH_CONFIG.exceptionAfterDays)
  .option("--json", "print one JSON object instead of tables")
  .action(async (o: { provider: ReturnType<typeof provider>; date: string; file?: string; exceptionAfterDays: number; json?: boolean }) => {
    let bill: FetchedBill;
    if (o.file !== undefined) {
      bill = { fileName: basename(o.file), bytes: await readFile(o.file), providerDigest: undefined };
    } else {
      if (sourceConfigPath === undefined) {
        console.error("recon run: without --file, RECONCILIATION_SOURCE_CONFIG must name the provider's credentials file");
        process.exitCode = 4;
        return;
      }
      const fetched = await createBillSource(await readSourceConfig(sourceConfigPath, o.provider)).fetch(o.date);
      if (!fetched.ok) {
        console.error(`recon run: ${fetched.error.code}: ${fetched.error.message}`);
        process.exitCode = 3;
        return;
      }
      bill = fetched.value;
    }
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    // A bar for large plain-text bills on a terminal; a zip's line count is not known up front.
    const zip = bill.bytes[0] === 0x50 && bill.bytes[1] === 0x4b;
    const totalLines = zip ? 0 : countLines(bill.bytes);
    const bar = o.json === true || process.stderr.isTTY !== true || totalLines < 50_000
      ? undefined
      : new cliProgress.SingleBar({ format: "parsing {bar} {value}/{total} lines | {rate} lines/s | ETA {eta_formatted}", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
    const started = performance.now();
    const rate = (lines: number): number => Math.round(lines / Math.max(0.001, (performance.now() - started) / 1000));
    bar?.start(totalLines, 0, { rate: 0 });
    try {
      const deps = pgReconDeps({ pool, matchConfig: { exceptionAfterDays: o.exceptionAfterDays } });
      const outcome = await inTransaction(pool, (tx) =>
        reconcileBill(deps, tx, { provider: o.provider, billDate: o.date, bill, onProgress: (lines) => bar?.update(lines, { rate: rate(lines) }) }),
      );
      bar?.update(totalLines, { rate: rate(totalLines) });
      bar?.stop();
      const seconds = (performance.now() - started) / 1000;
      const open = await inTransaction(pool, (tx) => listExceptions(queue, tx, { provider: o.provider, billDate: o.date, status: "open" }));
      if (o.json === true) {
        console.log(asJson({ ...outcome, ...(outcome.kind === "rejected" ? { message: describeRejection(outcome.rejection) } : {}), openExceptions: open }));
      } else if (outcome.kind === "rejected") {
        console.error(`recon run: the bill was rejected, nothing applied: ${describeRejection(outcome.rejection)}`);
      } else if (outcome.kind === "already_reconciled") {
        console.log(`this bill (same SHA-256) was already reconciled in run ${outcome.runId} (${outcome.status}); nothing done`);
      } else {
        console.log(`run ${outcome.runId}: ${outcome.billRowCount} bill rows, ${outcome.ledgerRecordCount} of our records in ${Math.round(seconds * 10) / 10} s (${Math.round(outcome.billRowCount / Math.max(0.001, seconds))} rows/s)${outcome.supersededRunId === undefined ? "" : `, supersedes run ${outcome.supersededRunId}`}`);
        console.log(runSummary(outcome));
      }
      if (o.json !== true && open.length > 0) console.log(`${open.length} open exception(s):\n${exceptionTable(open)}`);
      process.exitCode = outcome.kind === "rejected" ? 2 : open.length > 0 ? 1 : 0;
    } finally {
      bar?.stop();
      await pool.end();
    }
  });

const exceptions = program.command("exceptions").description("the exceptions queue");

exceptions
  .command("list")
  .option("--provider <provider>", "only this provider", provider)
  .option("--date <day>", "only this bill day", day)
  .option("--status <status>", "open, resolved or adjusted (default: open)", "open")
  .option("--json", "print JSON")
  .action(async (o: { provider?: ReturnType<typeof provider>; date?: string; status: string; json?: boolean }) => {
    if (!["open", "resolved", "adjusted"].includes(o.status)) {
      console.error("recon exceptions list: --status is open, resolved or adjusted");
      process.exitCode = 4;
      return;
    }
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    try {
      const list = await inTransaction(pool, (tx) => listExceptions(queue, tx, { ...(o.provider === undefined ? {} : { provider: o.provider }), ...(o.date === undefined ? {} : { billDate: o.date }), status: o.status as ExceptionStatus }));
      console.log(o.json === true ? asJson(list) : list.length === 0 ? "no exceptions" : exceptionTable(list));
      process.exitCode = o.status === "open" && list.length > 0 ? 1 : 0;
    } finally {
      await pool.end();
    }
  });

exceptions
  .command("resolve <exceptionId>")
  .requiredOption("--note <text>", "why it is closed")
  .requiredOption("--by <who>", "who closes it")
  .option("--adjust <amount>", "close it as adjusted, posting this signed amount to --merchant through suspense (e.g. 0.30 credits the merchant 0.30 yuan, -1.00 debits it)")
  .option("--merchant <id>", "the merchant an --adjust amount is posted to")
  .option("--currency <code>", "the --adjust amount's currency (the exception's)", "CNY")
  .option("--json", "print JSON")
  .action(async (exceptionId: string, o: { note: string; by: string; adjust?: string; merchant?: string; currency: string; json?: boolean }) => {
    let adjustment: AdjustmentToApprove | undefined;
    if (o.adjust !== undefined || o.merchant !== undefined) {
      const currency = parseCurrencyCode(o.currency);
      const amount = currency.ok ? parseDecimal(o.adjust ?? "", currency.value) : undefined;
      if (!currency.ok || amount === undefined || !amount.ok || o.merchant === undefined) {
        console.error("recon exceptions resolve: --adjust needs a decimal amount in --currency's major unit (e.g. -1.25) and --merchant");
        process.exitCode = 4;
        return;
      }
      adjustment = { merchantId: o.merchant, amountMinor: amount.value.amountMinor, currency: currency.value };
    }
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    try {
      const result = await inTransaction(pool, (tx) =>
        resolveException(queue, outbox, tx, { exceptionId, status: adjustment === undefined ? "resolved" : "adjusted", note: o.note, by: o.by, at: new Date(), ...(adjustment === undefined ? {} : { adjustment }) }),
      );
      if (!result.ok) {
        console.error(`recon exceptions resolve: ${result.error.code}: ${result.error.message}`);
        process.exitCode = 4;
        return;
      }
      console.log(o.json === true ? asJson(result.value) : `${result.value.exceptionId} ${result.value.status} by ${result.value.resolvedBy ?? ""} at ${result.value.resolvedAt?.toISOString() ?? ""}`);
    } finally {
      await pool.end();
    }
  });

await program.parseAsync(process.argv);
