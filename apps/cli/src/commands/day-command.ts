import { resolve } from "node:path";
import cliProgress from "cli-progress";
import Table from "cli-table3";
import { Command, InvalidArgumentError } from "commander";
import { repoRoot } from "../cli-context.js";
import type { DayProgress } from "../day/day-run.js";
import { summaryJson, yuan, type DaySummary } from "../day/day-summary.js";
import { ShutdownList } from "../stack/shutdown-list.js";
import { commandDescriptions } from "./command-descriptions.js";

const stopSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const signalNumbers: Record<(typeof stopSignals)[number], number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** `tributary day run`. */
export function dayCommand(): Command {
  const day = new Command("day").description(commandDescriptions.day);
  day
    .command("run")
    .description(
      "bring the stack up on fresh databases, publish simulated orders, wait until every order is paid or failed, close the day in settlement, " +
        "announce each provider's bill, wait for every reconciliation, write the reports to ./out/<day>/ and print the summary",
    )
    .option("--orders <n>", "how many orders", positiveInteger, 2000)
    .option("--seed <n>", "seed of the orders and of the sandbox's buyers and faults", positiveInteger, 20261201)
    .option("--out <dir>", "where the reports go", "out")
    .option("--json", "print the summary as one JSON object (progress and stack lines go to stderr)")
    .action(async (options: { orders: number; seed: number; out: string; json?: boolean }) => {
      const json = options.json === true;
      const stops = new ShutdownList();
      // A signal at any point stops every process the day started (the broker included) and exits 128 + n.
      for (const signal of stopSignals) {
        process.once(signal, () => {
          console.error(`day run: ${signal}, stopping`);
          void stops.stopAll().finally(() => process.exit(128 + signalNumbers[signal]));
        });
      }
      // Loaded only when a day runs: the stack's start-up pulls in every service's client code.
      const { runDay } = await import("../day/day-run.js");
      const summary = await runDay({
        repoRoot,
        env: process.env,
        orders: options.orders,
        seed: options.seed,
        outDir: resolve(options.out),
        stops,
        print: (line) => (json ? console.error(line) : console.log(line)),
        progress: progressBars(!json && process.stderr.isTTY),
      });
      if (json) console.log(JSON.stringify(summaryJson(summary)));
      else printSummary(summary);
    });
  return day;
}

function progressBars(enabled: boolean): DayProgress {
  const bars = new cliProgress.MultiBar({ format: " {task} [{bar}] {value}/{total}", hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
  const byTask = new Map<string, cliProgress.SingleBar>();
  return {
    start(task, total) {
      if (enabled) byTask.set(task, bars.create(total, 0, { task }));
    },
    update(task, value) {
      byTask.get(task)?.update(value);
    },
    stop() {
      bars.stop();
    },
  };
}

function printSummary(summary: DaySummary): void {
  const o = summary.orders;
  console.log(`\nBusiness day ${summary.billDate} (run ${summary.runId}; closed as of ${summary.closedAsOf}), ${seconds(summary.dayMs)} s for the day, ${seconds(summary.totalMs)} s in all`);
  console.log(`  orders: ${o.published} published, ${o.accepted} accepted, ${o.rejected} rejected; ${o.paid} paid, ${o.paymentFailed} payment failed`);
  const reasons = Object.entries(summary.failureReasons);
  if (reasons.length > 0) console.log(`  failed because: ${reasons.map(([reason, n]) => `${reason} ×${n}`).join(", ")}`);
  console.log(`  routed by: ${Object.entries(summary.routingRules).map(([rule, n]) => `${rule} ×${n}`).join(", ") || "nothing routed"}`);
  for (const r of summary.rollouts) {
    console.log(`  roll-out ${r.rolloutId} (${r.provider}${r.trial ? ", trial" : ""}): step ${r.step}, ${r.sharePercent} % of buyers; ${r.paused === undefined ? "running (guardrail did not pause it)" : `PAUSED by ${r.paused}`}`);
  }
  const trial = summary.trial;
  if (trial !== undefined) {
    const took = trial.steps.map((s) => `step ${s.step}: WeChat took ${s.treatment} of ${s.routed} orders routed (${s.routed === 0 ? 0 : Math.round((100 * s.treatment) / s.routed)} %)`);
    console.log(`  trial ${trial.rolloutId}:\n    ${took.join("\n    ")}`);
    const g = trial.guardrail;
    console.log(`    guardrail over the day: ${g.verdict === "pause" ? "PAUSE" : "continue"} — ${g.reason.text}`);
  }
  const providers = new Table({ head: ["provider", "routed", "captured", "gross", "bill rows", "our records", "matched", "discrepancies", "classes (class/disposition)"] });
  for (const p of summary.providers) {
    const r = p.reconciliation;
    providers.push([
      p.provider,
      String(p.routed),
      String(p.captured),
      yuan(p.grossMinor),
      r?.billRows.toString() ?? "-",
      r?.ledgerRecords.toString() ?? "-",
      r?.matched.toString() ?? "-",
      r?.discrepancies.toString() ?? "-",
      Object.entries(r?.classes ?? {}).map(([name, n]) => `${name} ${n}`).join("\n"),
    ]);
  }
  console.log(providers.toString());
  const t = summary.totals;
  const batchPayments = summary.batches.reduce((n, b) => n + b.paymentCount, 0n);
  const ours = BigInt(summary.providers.reduce((n, p) => n + p.captured, 0));
  if (batchPayments !== ours) console.log(`  settlement's batches hold ${batchPayments} payments: this run's ${ours} and ${batchPayments - ours} of the stack's smoke flow`);
  console.log(`  settlement: gross ${yuan(t.grossMinor)} CNY, provider fees ${yuan(t.providerFeesMinor)}, platform fees ${yuan(t.platformFeesMinor)}, net to merchants ${yuan(t.netMinor)} (payable ${yuan(t.payableMinor)})`);
  const batches = new Table({ head: ["merchant", "provider", "status", "payments", "gross", "fees (provider + platform)", "net", "held for"] });
  for (const b of summary.batches) {
    batches.push([b.merchantId, b.provider, b.status, b.paymentCount.toString(), yuan(b.grossMinor), `${yuan(b.providerFeesMinor)} + ${yuan(b.platformFeesMinor)}`, yuan(b.netMinor), b.heldFor.join("\n")]);
  }
  console.log(batches.toString());
  const ledger = Object.entries(summary.ledgerSumByCurrency).map(([currency, total]) => `${currency} ${total.toString()}`);
  console.log(`  ledger: sum of every posting ${ledger.length === 0 ? "(no postings)" : ledger.join(", ")} (minor units; must be 0)`);
  console.log(`  injected into the bills: ${summary.injected.map((d) => `${d.provider} ${d.kind} ${d.paymentId}`).join("; ") || "nothing"}`);
  console.log(`  reports: ${summary.reports.join(", ")}`);
}

/** Milliseconds as seconds with one decimal (a duration, not money). */
function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`must be a whole number ≥ 1, got "${text}"`);
  return value;
}
