import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import Table from "cli-table3";
import { Command, Option } from "commander";
import pg from "pg";
import { providerIdFromProto, providerIdToProto, statementsTopic, type ProviderId } from "@tributary/contracts";
import { ExceptionStatus, ReconciliationService, type ReconciliationException } from "@tributary/contracts/reconciliation/v1/reconciliation_service";
import { parseCurrencyCode, parseDecimal } from "@tributary/money";
import { brokersFrom, CliError, dateArgument, providerArgument, repoRoot, stackDatabaseUrl, toJson } from "../cli-context.js";
import { amountText } from "../money-text.js";
import type { StatementOutcome } from "../recon/await-reconciliation.js";
import type { LocalBill } from "../recon/statement-message.js";
import { withServiceClient, type EndpointOptions } from "../service-client.js";
import { reconciliationBillDir } from "../stack/stack-services.js";
import { commandDescriptions } from "./command-descriptions.js";

const statuses = { open: ExceptionStatus.OPEN, resolved: ExceptionStatus.RESOLVED, adjusted: ExceptionStatus.ADJUSTED } as const;
const statusNames: Readonly<Record<ExceptionStatus, string>> = {
  [ExceptionStatus.UNSPECIFIED]: "?",
  [ExceptionStatus.OPEN]: "open",
  [ExceptionStatus.RESOLVED]: "resolved",
  [ExceptionStatus.ADJUSTED]: "adjusted",
};

const endpointOptions = (command: Command): Command =>
  command
    .option("--address <host:port>", "reconciliation's gRPC address (default: RECONCILIATION_ADDRESS, else the running stack's)")
    .option("--token <token>", "bearer token with recon:read / recon:resolve (default: TRIBUTARY_TOKEN, else the running stack's operator token)");

/**
 * `tributary recon run|exceptions|resolve`: the reconciliation workers of the running stack. A
 * run is asked of the provider's worker as a provider would ask it — `StatementAvailable` on
 * `statements.v1` — so it matches against settlement's records exactly as the scheduled runs do;
 * the exceptions queue is the worker's ReconciliationService. As with the `recon` command of the
 * service: exit 1 while exceptions remain open.
 */
export function reconCommand(): Command {
  const recon = new Command("recon").description(commandDescriptions.recon);

  endpointOptions(
    recon
      .command("run")
      .summary("reconcile one provider's day against its bill (downloaded, or --file); exit 1 while exceptions remain open")
      .description(
        "have the provider's worker reconcile one day: it downloads the provider's bill through the provider's API (or reads --file), " +
          "matches it against settlement's records and queues the exceptions. Prints the run's classes and the day's open exceptions; " +
          "exit 1 when exceptions remain open or the bill was rejected. The same bill twice changes nothing.",
      )
      .requiredOption("--provider <provider>", "the rail: alipay, wechat_pay (wechat), unionpay, jd_pay (jdpay) or ecny")
      .requiredOption("--date <YYYY-MM-DD>", "the bill day (Asia/Shanghai)")
      .option("--file <path>", "reconcile this bill file (the provider's own format) instead of downloading it")
      .option("--timeout <seconds>", "how long to wait for the worker", "180")
      .option("--json", "one JSON object: { outcome, run, openExceptions }")
      .option("--brokers <list>", "Kafka bootstrap servers (default: KAFKA_BROKERS, else the running stack's)")
      .option("--database-url <url>", "the reconciliation database, where the worker records the run (default: the running stack's)"),
  ).action(async (options: EndpointOptions & { provider: string; date: string; file?: string; timeout: string; json?: boolean; brokers?: string; databaseUrl?: string }) => {
    const provider = providerArgument(options.provider);
    const billDate = dateArgument(options.date);
    const timeoutS = Number(options.timeout);
    if (!Number.isInteger(timeoutS) || timeoutS <= 0) throw new CliError(`--timeout must be a whole number of seconds, got ${JSON.stringify(options.timeout)}`, 2);
    const pool = new pg.Pool({ connectionString: stackDatabaseUrl("reconciliation", options.databaseUrl), max: 1 });
    try {
      const bill = options.file === undefined ? undefined : placeBill(options.file, provider, billDate);
      const published = await publishStatement(brokersFrom(options.brokers), provider, billDate, bill);
      const { awaitReconciliation } = await import("../recon/await-reconciliation.js");
      const outcome = await awaitReconciliation(pool, { provider, billDate, ...published }, timeoutS * 1_000);
      const open = await listExceptions(options, { provider, billDate, status: ExceptionStatus.OPEN });
      if (options.json === true) console.log(toJson({ provider, billDate, outcome: outcome.kind, run: outcome.run ?? null, openExceptions: open.map(exceptionView) }));
      else printOutcome(outcome, provider, billDate, open);
      if (outcome.kind === "rejected" || open.length > 0) process.exitCode = 1;
    } finally {
      await pool.end();
    }
  });

  endpointOptions(
    recon
      .command("exceptions")
      .summary("list the exceptions queue; exit 1 when open exceptions are listed")
      .description("the exceptions queue (newest bill day first); exit 1 when listing open exceptions and there are some")
      .option("--provider <provider>", "only this rail")
      .option("--date <YYYY-MM-DD>", "only this bill day")
      .addOption(new Option("--status <status>", "which exceptions").choices(Object.keys(statuses)).default("open"))
      .option("--json", "a JSON array of exceptions, amounts as exact decimal text"),
  ).action(async (options: EndpointOptions & { provider?: string; date?: string; status: keyof typeof statuses; json?: boolean }) => {
    const provider = options.provider === undefined ? undefined : providerArgument(options.provider);
    const billDate = options.date === undefined ? undefined : dateArgument(options.date);
    const list = await listExceptions(options, { provider, billDate, status: statuses[options.status] });
    if (options.json === true) console.log(toJson(list.map(exceptionView)));
    else console.log(list.length === 0 ? `no ${options.status} exceptions` : exceptionTable(list));
    if (options.status === "open" && list.length > 0) process.exitCode = 1;
  });

  endpointOptions(
    recon
      .command("resolve")
      .summary("close one open exception with a note")
      .description("close one open exception, saying why; who is your token's principal, when the server's clock. With --adjust and --merchant it is closed as adjusted and settlement posts that amount through suspense, you as approver. Exit 3 for no such exception, 1 when it is not open")
      .argument("<exception-id>", "the exception (its id as recon exceptions lists it)")
      .requiredOption("--note <text>", "why it is closed (kept with it; an adjustment's reason)")
      .option("--adjust <amount>", "close it as adjusted: post this signed amount (major units, e.g. 0.30 or -1.25) to --merchant through suspense; you are the approver")
      .option("--merchant <id>", "the merchant an --adjust amount is posted to")
      .option("--currency <code>", "the --adjust amount's currency (the exception's)", "CNY")
      .option("--json", "the closed exception as JSON"),
  ).action(async (exceptionId: string, options: EndpointOptions & { note: string; adjust?: string; merchant?: string; currency: string; json?: boolean }) => {
    if (options.note.trim() === "") throw new CliError("--note must say why the exception is closed", 2);
    const adjustment = adjustmentArgument(options);
    const answer = await withServiceClient("reconciliation", ReconciliationService, options, (client) =>
      client.resolveException({
        exceptionId,
        note: options.note,
        status: adjustment === undefined ? ExceptionStatus.RESOLVED : ExceptionStatus.ADJUSTED,
        ...(adjustment === undefined ? {} : { adjustment }),
      }),
    );
    const closed = answer.exception;
    if (closed === undefined) throw new CliError("reconciliation answered without the exception", 1);
    const view = exceptionView(closed);
    const posted = view.adjustment === null ? "" : ` — adjustment ${view.adjustment.amount ?? "?"} to ${view.adjustment.merchantId} goes to settlement (reconciliation.v1)`;
    console.log(options.json === true ? toJson(view) : `${view.exceptionId} ${view.status} by ${view.resolvedBy} at ${view.resolvedAt ?? "?"}: ${view.note}${posted}`);
  });

  return recon;
}

/**
 * Copies the bill into the running stack's local bill folder (the only place a statement may name
 * a file the workers read), in a folder of its own so it keeps its name (bill locations say
 * `<file>:<line>`), and returns it with its SHA-256 for the statement.
 */
function placeBill(file: string, provider: ProviderId, billDate: string): LocalBill {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new CliError(`--file ${file}: ${error instanceof Error ? error.message : String(error)}`, 2);
  }
  const root = reconciliationBillDir({ repoRoot, databaseSuffix: process.env["TRIBUTARY_DATABASE_SUFFIX"] ?? "" });
  if (!existsSync(root)) throw new CliError(`the running stack's workers read no local bills (${root} is missing: restart the stack with this tributary), or drop --file`, 3);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const dir = join(root, provider, billDate, sha256);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, basename(file));
  writeFileSync(path, bytes, { mode: 0o600 });
  return { path, sha256 };
}

async function publishStatement(brokers: readonly string[], provider: ProviderId, billDate: string, bill: LocalBill | undefined): Promise<{ eventId: string; publishedAt: Date }> {
  // The Kafka client and the events package, loaded only for `recon run`: `exceptions` and
  // `resolve` need just the gRPC client.
  const [{ Kafka, logLevel }, { createIdempotentProducer }, { statementMessage }] = await Promise.all([
    import("kafkajs"),
    import("@tributary/events"),
    import("../recon/statement-message.js"),
  ]);
  const kafka = new Kafka({ clientId: "tributary-cli", brokers: [...brokers], logLevel: logLevel.WARN });
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  try {
    const publishedAt = new Date();
    const { eventId, message } = statementMessage(provider, billDate, "tributary-cli", bill);
    await producer.send({ topic: statementsTopic.name, acks: -1, messages: [message] });
    return { eventId, publishedAt };
  } finally {
    await producer.disconnect();
  }
}

async function listExceptions(
  options: EndpointOptions,
  filter: { readonly provider: ProviderId | undefined; readonly billDate: string | undefined; readonly status: ExceptionStatus },
): Promise<ReconciliationException[]> {
  const answer = await withServiceClient("reconciliation", ReconciliationService, options, (client) =>
    client.listExceptions({
      ...(filter.provider === undefined ? {} : { provider: providerIdToProto(filter.provider) }),
      ...(filter.billDate === undefined ? {} : { billDate: filter.billDate }),
      status: filter.status,
    }),
  );
  return answer.exceptions;
}

/** An exception as the CLI prints it: names for enums, exact decimal text for amounts, ISO times. */
/** `--adjust` and `--merchant` as the approved adjustment (both or neither); undefined for a plain resolve. */
function adjustmentArgument(options: { adjust?: string; merchant?: string; currency: string }) {
  if (options.adjust === undefined && options.merchant === undefined) return undefined;
  if (options.adjust === undefined || options.merchant === undefined || options.merchant.trim() === "") {
    throw new CliError("--adjust and --merchant go together: the signed amount and the merchant it is posted to", 2);
  }
  const currency = parseCurrencyCode(options.currency);
  if (!currency.ok) throw new CliError(`--currency ${JSON.stringify(options.currency)} is not a currency code`, 2);
  const amount = parseDecimal(options.adjust, currency.value);
  if (!amount.ok) throw new CliError(`--adjust ${JSON.stringify(options.adjust)} is not an amount in ${currency.value} (e.g. -1.25)`, 2);
  if (amount.value.amountMinor === 0n) throw new CliError("--adjust 0 changes nothing; resolve without --adjust instead", 2);
  return { merchantId: options.merchant.trim(), amount: { currency: currency.value, amountMinor: amount.value.amountMinor } };
}

function exceptionView(e: ReconciliationException) {
  return {
    exceptionId: e.exceptionId,
    provider: providerIdFromProto(e.provider) ?? "?",
    billDate: e.billDate,
    reconciliationId: e.reconciliationId,
    matchClass: e.matchClass,
    itemKey: e.itemKey,
    billLocations: e.billLocations,
    currency: e.billAmount?.currency ?? e.ledgerAmount?.currency ?? "",
    billAmount: e.billAmount === undefined ? null : amountText(e.billAmount),
    ledgerAmount: e.ledgerAmount === undefined ? null : amountText(e.ledgerAmount),
    description: e.description,
    status: statusNames[e.status] ?? `? (${String(e.status)})`,
    note: e.note,
    resolvedBy: e.resolvedBy,
    resolvedAt: e.resolvedAt === undefined ? null : timestampDate(e.resolvedAt).toISOString(),
    createdAt: e.createdAt === undefined ? null : timestampDate(e.createdAt).toISOString(),
    adjustment:
      e.adjustment === undefined ? null : { merchantId: e.adjustment.merchantId, amount: e.adjustment.amount === undefined ? null : amountText(e.adjustment.amount) },
  };
}

function exceptionTable(exceptions: readonly ReconciliationException[]): string {
  const table = new Table({ head: ["id", "provider", "day", "class", "status", "bill", "ours", "where", "what"], wordWrap: true, colWidths: [38, 12, 12, 18, 10, 12, 12, 24, 44] });
  for (const e of exceptions.map(exceptionView)) table.push([e.exceptionId, e.provider, e.billDate, e.matchClass, e.status, e.billAmount ?? "", e.ledgerAmount ?? "", e.billLocations, e.description]);
  return table.toString();
}

function printOutcome(outcome: StatementOutcome, provider: ProviderId, billDate: string, open: readonly ReconciliationException[]): void {
  switch (outcome.kind) {
    case "rejected":
      console.error(`✗ ${provider} ${billDate}: the bill was rejected, nothing applied (run ${outcome.run.runId}): ${outcome.run.rejection ?? "no reason recorded"}`);
      break;
    case "already_reconciled":
      console.log(`${provider} ${billDate}: this bill was reconciled before${outcome.run === undefined ? "" : ` (newest run ${outcome.run.runId}, ${outcome.run.status})`}; nothing changed`);
      break;
    case "completed": {
      const { run } = outcome;
      console.log(
        `run ${run.runId}: ${run.billRowCount} bill rows, ${run.ledgerRecordCount} of our records; ${run.matchedCount} matched, ${run.discrepancyCount} exception(s)` +
          `; bill net ${amountText({ amountMinor: run.billNetMinor, currency: run.currency })}, ours ${amountText({ amountMinor: run.ledgerNetMinor, currency: run.currency })} ${run.currency}` +
          (run.supersedesRunId === null ? "" : `; supersedes run ${run.supersedesRunId}`),
      );
      const table = new Table({ head: ["class", "items"] });
      for (const [name, count] of Object.entries(run.classes)) table.push([name, String(count)]);
      if (table.length > 0) console.log(table.toString());
      break;
    }
  }
  console.log(open.length === 0 ? `no open exceptions for ${provider} ${billDate}` : `${open.length} open exception(s):\n${exceptionTable(open)}`);
}
