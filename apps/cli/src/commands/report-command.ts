import { createWriteStream, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Command, Option } from "commander";
import pg from "pg";
import { providerIdToProto, type ProviderId } from "@tributary/contracts";
import { ReportFormat, ReportKind, SettlementService } from "@tributary/contracts/settlement/v1/settlement_service";
import { CliError, dateArgument, providerArgument, serviceEndpoint, stackDatabaseUrl, toJson } from "../cli-context.js";
import { withServiceClient, type EndpointOptions } from "../service-client.js";
import { commandDescriptions } from "./command-descriptions.js";

const formats = { csv: ReportFormat.CSV, json: ReportFormat.JSON, xlsx: ReportFormat.XLSX } as const;
const kinds = { detail: ReportKind.DETAIL, summary: ReportKind.SUMMARY } as const;

interface ExportOptions extends EndpointOptions {
  date: string;
  provider?: string;
  merchant?: string;
  kind: keyof typeof kinds;
  format: keyof typeof formats | "html";
  out: string;
  databaseUrl?: string;
  json?: boolean;
}

/** `tributary report export`: a finance report of one day, streamed from settlement to a file. */
export function reportCommand(): Command {
  const report = new Command("report").description(commandDescriptions.report);

  report
    .command("export")
    .summary("write one day's report (CSV, JSON, XLSX or HTML) to ./out and print its path and size")
    .description(
      "stream one day's report from settlement's gRPC ExportReport into <out>/<date>/settlement-<kind>[-<provider>][-<merchant>].<format> and print its path and size. " +
        "CSV is UTF-8 with BOM (opens in Excel with Chinese text intact); JSON and XLSX are the detail report only. " +
        "html is settlement's finance overview (charts as SVG), which ExportReport does not serve yet: it is rendered here from the stack's settlement database by settlement's own renderHtmlReport.",
    )
    .requiredOption("--date <YYYY-MM-DD>", "the business day (Asia/Shanghai)")
    .option("--provider <provider>", "only this rail: alipay, wechat_pay (wechat), unionpay, jd_pay (jdpay) or ecny")
    .option("--merchant <id>", "only this merchant")
    .addOption(new Option("--kind <kind>", "detail (one line per ledger entry) or summary (one line per batch; CSV only)").choices(Object.keys(kinds)).default("detail"))
    .addOption(new Option("--format <format>", "file format").choices([...Object.keys(formats), "html"]).default("csv"))
    .option("--out <dir>", "where the file goes (a folder per day is made in it)", "out")
    .option("--json", "print { path, bytes, … } as JSON instead of a line")
    .option("--address <host:port>", "settlement's gRPC address (default: SETTLEMENT_ADDRESS, else the running stack's)")
    .option("--token <token>", "bearer token with settlement:read (default: TRIBUTARY_TOKEN, else the running stack's operator token)")
    .option("--database-url <url>", "html only: the settlement database (default: the running stack's)")
    .action(async (options: ExportOptions) => {
      const date = dateArgument(options.date);
      const provider = options.provider === undefined ? undefined : providerArgument(options.provider);
      const html = options.format === "html";
      if (html && (provider !== undefined || options.merchant !== undefined)) throw new CliError("--format html is the overview of every provider and merchant: drop --provider and --merchant", 2);
      if (html && options.kind !== "detail") throw new CliError("--format html is the overview; --kind does not apply", 2);
      if (!html && options.kind === "summary" && options.format !== "csv") throw new CliError("--kind summary is CSV only (--format csv)", 2);

      // Where the report comes from first: no stack (exit 3) must not leave an empty folder behind.
      const settlementDatabase = html ? stackDatabaseUrl("settlement", options.databaseUrl) : undefined;
      if (!html) serviceEndpoint("settlement", options);
      const dir = resolve(options.out, date);
      const name = ["settlement", html ? "overview" : options.kind, ...(provider === undefined ? [] : [provider]), ...(options.merchant === undefined ? [] : [safeName(options.merchant)])].join("-");
      const path = join(dir, `${name}.${options.format}`);
      // Written beside the target and renamed once complete, so a failed export leaves no half file.
      const partial = `${path}.partial`;
      mkdirSync(dir, { recursive: true });
      try {
        if (settlementDatabase !== undefined) {
          writeFileSync(partial, await renderHtml(settlementDatabase, date));
        } else {
          await exportFromSettlement(options, { date, provider, format: formats[options.format as keyof typeof formats], kind: kinds[options.kind] }, partial);
        }
        renameSync(partial, path);
      } finally {
        rmSync(partial, { force: true });
      }
      const bytes = statSync(path).size;
      // Relative to where the command ran when the file is below it (./out/…), else absolute.
      const below = relative(process.cwd(), path);
      const shown = below === "" || below.startsWith("..") ? path : below;
      if (options.json === true) {
        console.log(toJson({ path: shown, bytes, date, kind: html ? "overview" : options.kind, format: options.format, provider: provider ?? null, merchant: options.merchant ?? null }));
      } else {
        console.log(`${shown} (${bytes} bytes)`);
      }
    });

  return report;
}

/** Streams ExportReport's chunks into `path` as they arrive (a million-line detail never sits in memory). */
async function exportFromSettlement(
  options: EndpointOptions & { merchant?: string },
  request: { readonly date: string; readonly provider: ProviderId | undefined; readonly format: ReportFormat; readonly kind: ReportKind },
  path: string,
): Promise<void> {
  // A large report streams for a while: a deadline for the whole call of 10 minutes, not the unary 30 s.
  await withServiceClient(
    "settlement",
    SettlementService,
    options,
    async (client) => {
      const chunks = client.exportReport({
        kind: request.kind,
        format: request.format,
        businessDate: request.date,
        ...(request.provider === undefined ? {} : { provider: providerIdToProto(request.provider) }),
        ...(options.merchant === undefined ? {} : { merchantId: options.merchant }),
      });
      await pipeline(
        Readable.from(
          (async function* () {
            for await (const message of chunks) yield message.chunk;
          })(),
        ),
        createWriteStream(path),
      );
    },
    600_000,
  );
}

async function renderHtml(url: string, date: string): Promise<string> {
  // Settlement's renderer, loaded only for html: the package's index is the whole service (ECharts included).
  const { renderHtmlReport } = await import("@tributary/settlement");
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    return await renderHtmlReport(pool, { fromDate: date, toDate: date });
  } catch (error) {
    throw new CliError(`the HTML overview could not be read from the settlement database: ${error instanceof Error ? error.message : String(error)}`, 1);
  } finally {
    await pool.end();
  }
}

/** A merchant id as part of a file name: anything but letters, digits, `-` and `_` becomes `_`. */
function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, "_");
}
