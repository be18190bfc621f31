import { setTimeout as sleep } from "node:timers/promises";
import Table from "cli-table3";
import { Command } from "commander";
import { CliError, repoRoot, runningStack } from "../cli-context.js";
import { ShutdownList, stackUp } from "../stack/stack-up.js";
import type { StackState } from "../stack/stack-state.js";

const stopSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const signalNumbers: Record<(typeof stopSignals)[number], number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** `tributary stack up|status|down`. */
export function stackCommand(): Command {
  const stack = new Command("stack").description("the local stack: Kafka, the service databases, the provider sandbox and every service");

  stack
    .command("up")
    .description("bring the whole local stack up, run the smoke flow, and stay up until Ctrl-C / SIGTERM / `stack down`")
    .option("--exit", "stop everything after the summary (CI, a quick check)")
    .action(async (options: { exit?: boolean }) => {
      await runStackUp(options.exit === true);
    });

  stack
    .command("status")
    .description("what the running stack is made of, and whether each service answers /readyz")
    .option("--json", "one JSON object instead of a table")
    .action(async (options: { json?: boolean }) => {
      const state = runningStack();
      if (state === undefined) throw new CliError("no local stack is running (start one with: npm start, or tributary stack up)", 3);
      const report = await statusOf(state);
      if (options.json === true) {
        console.log(JSON.stringify(report));
      } else {
        console.log(`stack pid ${state.pid} (${report.stackAlive ? "running" : "gone"}), up since ${state.startedAt}`);
        console.log(`kafka ${state.kafka.brokers.join(",")}${state.kafka.local ? " (local broker)" : ""}; sandbox ${state.sandboxUrl}`);
        const table = new Table({ head: ["service", "pid", "ready", "gRPC", "health", "log"] });
        for (const service of report.services) {
          table.push([service.name, String(service.pid), service.ready ? "yes" : "NO", service.grpcAddress ?? "", service.healthAddress, service.logFile]);
        }
        console.log(table.toString());
      }
      if (!report.stackAlive || report.services.some((service) => !service.ready)) process.exitCode = 1;
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
  return { stackAlive: alive(state.pid), services };
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
