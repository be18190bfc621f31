import { setTimeout as sleep } from "node:timers/promises";
import Table from "cli-table3";
import { Command } from "commander";
import { CliError, repoRoot, requireStack, runningStack, toJson } from "../cli-context.js";
import { LEDGER_READ_AGE_MAX_S, ledgerCheckOf, reconClasses, type LedgerCheck, type ReconClasses } from "../stack/stack-checks.js";
import { scrapeMetrics, summariseMetrics, type KeyMetricsReport } from "../stack/stack-metrics.js";
import { ShutdownList } from "../stack/shutdown-list.js";
import type { StackState } from "../stack/stack-state.js";
import { commandDescriptions } from "./command-descriptions.js";

const stopSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const signalNumbers: Record<(typeof stopSignals)[number], number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** `tributary stack up|status|down`. */
export function stackCommand(): Command {
  const stack = new Command("stack").description(commandDescriptions.stack);

  stack
    .command("up")
    .description("bring the whole local stack up, run the smoke flow, and stay up until Ctrl-C / SIGTERM / `stack down`")
    .option("--exit", "stop everything after the summary (CI, a quick check)")
    .action(async (options: { exit?: boolean }) => {
      await runStackUp(options.exit === true);
    });

  stack
    .command("status")
    .summary("the running stack's services, readiness and key metrics; exit 1 if a service is not ready or the ledger does not balance")
    .description(
      "what the running stack is made of, whether each service answers /readyz, and the key metrics scraped from each service's /metrics " +
        "(payments by provider and outcome, provider calls, webhook notifications, outbox backlog, consumer lag, parked keys, dead letters), " +
        "the ledger balance check (settlement's imbalance gauge; must read 0) and the open reconciliation exceptions by class. Exit 1 when a service is not ready or the ledger does not balance.",
    )
    .option("--json", "one JSON object instead of tables: { stackAlive, services, metrics, ledgerCheck, reconciliation }")
    .action(async (options: { json?: boolean }) => {
      const state = requireStack();
      const report = await statusOf(state);
      if (options.json === true) {
        console.log(toJson(report));
      } else {
        console.log(`stack pid ${state.pid} (${report.stackAlive ? "running" : "gone"}), up since ${state.startedAt}`);
        console.log(`kafka ${state.kafka.brokers.join(",")}${state.kafka.local ? " (local broker)" : ""}; sandbox ${state.sandboxUrl}`);
        const table = new Table({ head: ["service", "pid", "ready", "gRPC", "health", "log"] });
        for (const service of report.services) {
          table.push([service.name, String(service.pid), service.ready ? "yes" : "NO", service.grpcAddress ?? "", service.healthAddress, service.logFile]);
        }
        console.log(table.toString());
        console.log(keyMetricsTable(report));
        for (const problem of report.metrics.problems) console.log(`! ${problem}`);
        if (report.metrics.notExported.length > 0) console.log(`not exported as metrics yet: ${report.metrics.notExported.map((line) => line.split(":")[0]).join("; ")}`);
      }
      if (!report.stackAlive || report.services.some((service) => !service.ready) || !report.ledgerCheck.ok) process.exitCode = 1;
    });

  stack
    .command("down")
    .description("stop the running stack (SIGTERM to it; it stops every process it started) and wait until it is gone")
    .option("--timeout <seconds>", "how long to wait", "60")
    .action(async (options: { timeout: string }) => {
      const state = runningStack();
      if (state === undefined) throw new CliError("no local stack is running", 3);
      if (!alive(state.pid)) throw new CliError(`the stack (pid ${state.pid}) is already gone; its state file is stale`, 1);
      process.kill(state.pid, "SIGTERM");
      const deadline = Date.now() + Number(options.timeout) * 1_000;
      while (alive(state.pid) && Date.now() < deadline) await sleep(200);
      if (alive(state.pid)) throw new CliError(`the stack (pid ${state.pid}) is still running after ${options.timeout} s`, 1);
      const left = state.services.filter((service) => alive(service.pid));
      if (left.length > 0) throw new CliError(`still running: ${left.map((s) => `${s.name} (pid ${s.pid})`).join(", ")}`, 1);
      console.log(`stopped the stack (pid ${state.pid}) and ${state.services.length} service process(es)`);
    });

  return stack;
}

/**
 * Runs the stack in this process. Signals are handled from the first moment: during start-up a
 * signal stops what has started (the broker included) and exits 128 + n; once up, it ends the
 * wait. Node's default for SIGTERM would exit without any of this and leave processes running.
 */
async function runStackUp(exit: boolean): Promise<void> {
  const stops = new ShutdownList();
  let up = false;
  let requestStop: (signal: string) => void = () => {};
  const stopRequested = new Promise<string>((resolveStop) => (requestStop = resolveStop));
  for (const signal of stopSignals) {
    process.once(signal, () => {
      if (up) {
        requestStop(signal);
        return;
      }
      console.error(`stack: ${signal} during start-up, stopping`);
      void stops.stopAll().finally(() => process.exit(128 + signalNumbers[signal]));
    });
  }
  // Re-parented means whoever started us is gone without a signal reaching us: stop as for SIGTERM.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.emit("SIGTERM", "SIGTERM");
  }, 1_000).unref();
  // Loaded only for `stack up` (after the signal handlers): it pulls in every service's start-up code.
  const { stackUp } = await import("../stack/stack-up.js");
  await stackUp({
    repoRoot,
    env: process.env,
    exit,
    stops,
    stopRequested,
    print: (line) => console.log(line),
    onUp: () => (up = true),
  });
}

interface StatusReport {
  readonly stackAlive: boolean;
  readonly metrics: KeyMetricsReport;
  readonly ledgerCheck: LedgerCheck;
  readonly reconciliation: ReconClasses;
  readonly services: readonly {
    readonly name: string;
    readonly pid: number;
    readonly ready: boolean;
    readonly grpcAddress?: string;
    readonly healthAddress: string;
    readonly logFile: string;
  }[];
}

async function statusOf(state: StackState): Promise<StatusReport> {
  const services = await Promise.all(
    state.services.map(async (service) => ({
      ...service,
      ready: alive(service.pid) && (await answersReady(service.healthAddress)),
    })),
  );
  const [scrapes, reconciliation] = await Promise.all([scrapeMetrics(state.services), reconClasses()]);
  const metrics = summariseMetrics(scrapes);
  return { stackAlive: alive(state.pid), services, metrics, ledgerCheck: ledgerCheckOf(metrics), reconciliation };
}

/** The key metrics as one table: what, where (service, labels), value. */
function keyMetricsTable(report: StatusReport): string {
  const { metrics } = report;
  const table = new Table({ head: ["key metric", "where", "value"] });
  const rows = (title: string, entries: readonly (readonly [string, string])[], none: string): void => {
    if (entries.length === 0) table.push([title, "", none]);
    for (const [where, value] of entries) table.push([title, where, value]);
  };
  rows("payments", metrics.payments.map((p) => [`${p.provider} ${p.outcome}${p.reason === "" ? "" : ` (${p.reason})`}`, String(p.count)]), "none yet");
  rows("provider calls", metrics.providerCalls.map((c) => [`${c.provider} ${c.call} ${c.outcome}`, String(c.count)]), "none yet");
  rows("webhook notifications", metrics.webhookNotifications.map((n) => [`${n.provider} ${n.outcome}${n.reason === "" ? "" : ` (${n.reason})`}`, String(n.count)]), "none yet");
  rows("outbox backlog", metrics.outbox.map((o) => [o.service, `${o.pending} pending${o.quarantined > 0 ? `, ${o.quarantined} QUARANTINED` : ""}${o.pending > 0 ? `, oldest ${Math.round(o.oldestPendingAgeS)} s` : ""}`]), "not reported");
  rows("consumer lag", metrics.consumerLag.map((l) => [`${l.service}: ${l.group} on ${l.topic}`, String(l.lag)]), "not reported");
  const parked = metrics.parkedKeys.filter((p) => p.keys > 0);
  rows("parked keys", parked.map((p) => [`${p.service}: ${p.group} on ${p.topic}`, String(p.keys)]), metrics.parkedKeys.length === 0 ? "not reported" : `0 in ${metrics.parkedKeys.length} group/topic(s)`);
  rows("dead letters", metrics.deadLettered.map((d) => [`${d.service}: ${d.group} on ${d.topic}`, String(d.count)]), "0 since each service started");
  const ledger = report.ledgerCheck;
  const age = "error" in ledger || ledger.readAgeS === undefined ? "" : `, read ${Math.round(ledger.readAgeS)} s ago`;
  rows(
    "ledger balance",
    "error" in ledger
      ? [["settlement", `NOT REPORTED: ${ledger.error}`]]
      : Object.entries(ledger.sumMinorByCurrency).map(([currency, sum]) => [`${currency}, sum of every posting (settlement${age})`, sum === "0" && ledger.ok ? "0 ✓" : `${sum} ✗ (must be 0, read within ${LEDGER_READ_AGE_MAX_S} s)`]),
    "no currency reported",
  );
  rows("reconciliation classes", metrics.reconciliationItems.map((i) => [`${i.provider} ${i.matchClass}`, String(i.count)]), "no run since the workers started");
  const recon = report.reconciliation;
  rows(
    "open recon exceptions",
    "error" in recon ? [["ReconciliationService", `CANNOT READ: ${recon.error}`]] : recon.openByClass.map((c) => [`${c.provider} ${c.matchClass}`, String(c.open)]),
    "none",
  );
  return table.toString();
}

async function answersReady(healthAddress: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${healthAddress}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
