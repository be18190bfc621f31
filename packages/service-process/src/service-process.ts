import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** How to run one service as its own process. */
export interface ServiceProcessOptions {
  /** Shown in errors and logs, e.g. `payment-routing`. */
  readonly name: string;
  /** The service's composition root (its `src/main.ts`), absolute. */
  readonly entry: string;
  /** Working directory: the service's package, so `--import` specifiers resolve from it. */
  readonly cwd: string;
  /** The child's whole environment (pass `{...process.env, …}` to inherit). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `host:port` of the service's HTTP health endpoint; ready once `/readyz` answers 200. */
  readonly healthAddress: string;
  /** stdout and stderr are appended here (not piped through us, so a chatty child never blocks). */
  readonly logFile: string;
  /** Node flags before the entry; TypeScript from source with telemetry started first unless told. */
  readonly nodeArgs?: readonly string[];
  /** Node flags after `nodeArgs` (or the defaults), e.g. `--cpu-prof`, which Node does not take from NODE_OPTIONS. */
  readonly extraNodeArgs?: readonly string[];
  /** Arguments after the entry (e.g. `--provider wechat_pay` of a per-provider worker); none unless told. */
  readonly args?: readonly string[];
  /** How long `/readyz` may take; 60 s unless told. */
  readonly readyTimeoutMs?: number;
}

/** How a service process ended. */
export interface ServiceExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** CPU time the process has used so far (user and system, in milliseconds). */
export interface CpuTime {
  readonly userMs: number;
  readonly systemMs: number;
}

/** A running service process. */
export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited, however. */
  readonly exited: Promise<ServiceExit>;
  /** Its CPU time from `/proc/<pid>/stat`; undefined once it has exited or off Linux. */
  cpuTime(): CpuTime | undefined;
  /** SIGTERM (the service's graceful shutdown), then SIGKILL after `graceMs` (15 s unless told). */
  stop(graceMs?: number): Promise<ServiceExit>;
}

/** The service failed to start or never became ready; the log's tail says why. */
export class ServiceStartError extends Error {
  override readonly name = "ServiceStartError";
  /** The log's tail names EADDRINUSE: a port it was told was taken before it bound it. */
  readonly addressInUse: boolean;

  constructor(message: string) {
    super(message);
    this.addressInUse = message.includes("EADDRINUSE");
  }
}

/**
 * Runs `start` (which picks its ports with `freeLocalPort` and starts a service on them) again,
 * up to `attempts` times in all, while it fails because another process took one of its ports
 * between the pick and the bind; any other failure, or the last, is thrown.
 */
export async function startOnFreshPorts<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (!(error instanceof ServiceStartError && error.addressInUse) || attempt >= attempts) throw error;
    }
  }
}

const defaultNodeArgs = ["--import", "tsx", "--import", "@tributary/telemetry/register", "--conditions=source"];

/** util-linux's setpriv on Linux; else none (the child then relies on our exit hook alone). */
const parentDeathWrapper = process.platform === "linux" && existsSync("/usr/bin/setpriv") ? "/usr/bin/setpriv" : undefined;

const live = new Set<ChildProcess>();
let exitHooked = false;

/**
 * Starts `node <nodeArgs> <entry>` as its own process and waits until its `/readyz` answers 200.
 * The child is tied to this process twice: `setpriv --pdeathsig TERM` makes the kernel send it
 * SIGTERM (its graceful shutdown) when we die, even by SIGKILL, and an exit hook SIGKILLs any child
 * still running when we exit without stopping it. Throws {@link ServiceStartError} with the log's
 * last lines when the process exits or does not become ready in time.
 */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const logOffset = existsSync(options.logFile) ? readFileSync(options.logFile).length : 0;
  const fd = openSync(options.logFile, "a");
  let child: ChildProcess;
  try {
    const nodeArgv = [process.execPath, ...(options.nodeArgs ?? defaultNodeArgs), ...(options.extraNodeArgs ?? []), options.entry, ...(options.args ?? [])];
    const [command, ...args] = parentDeathWrapper === undefined ? nodeArgv : [parentDeathWrapper, "--pdeathsig", "TERM", ...nodeArgv];
    child = spawn(command!, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<ServiceExit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", () => resolve({ code: null, signal: null }));
  });
  tieToThisProcess(child);
  const pid = child.pid;
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const service: ServiceProcess = {
    name: options.name,
    pid: pid ?? -1,
    logFile: options.logFile,
    exited,
    cpuTime: () => (pid === undefined || !running() ? undefined : readCpuTime(pid)),
    async stop(graceMs = 15_000) {
      if (!running()) return exited;
      child.kill("SIGTERM");
      const timer = new AbortController();
      const graceOver = sleep(graceMs, "grace_over" as const, { signal: timer.signal }).catch(() => "cancelled" as const);
      if ((await Promise.race([exited, graceOver])) === "grace_over" && running()) child.kill("SIGKILL");
      timer.abort();
      return exited;
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (!running() || pid === undefined) {
      const exit = await exited;
      throw new ServiceStartError(
        `${options.name} exited during start-up (${exit.signal ?? `code ${exit.code}`}); last lines of ${options.logFile}:\n${logTail(options.logFile, logOffset)}`,
      );
    }
    if (await isReady(options.healthAddress)) return service;
    if (Date.now() >= deadline) {
      await service.stop(5_000);
      throw new ServiceStartError(
        `${options.name} was not ready on http://${options.healthAddress}/readyz in ${options.readyTimeoutMs ?? 60_000} ms; last lines of ${options.logFile}:\n${logTail(options.logFile, logOffset)}`,
      );
    }
    await sleep(200);
  }
}

async function isReady(healthAddress: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${healthAddress}/readyz`, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

function tieToThisProcess(child: ChildProcess): void {
  if (!exitHooked) {
    process.once("exit", () => {
      for (const running of live) if (running.exitCode === null && running.signalCode === null) running.kill("SIGKILL");
    });
    exitHooked = true;
  }
  live.add(child);
  child.once("exit", () => live.delete(child));
}

let ticksPerSecond: number | undefined;

/** utime and stime (fields 14 and 15 of /proc/<pid>/stat, in clock ticks) in milliseconds. */
function readCpuTime(pid: number): CpuTime | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  const toMs = (ticks: string | undefined): number => (Number(ticks) * 1_000) / ticksPerSecond!;
  // fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) fields[12].
  return { userMs: toMs(fields[11]), systemMs: toMs(fields[12]) };
}

function logTail(logFile: string, fromOffset: number, lines = 20): string {
  try {
    const text = readFileSync(logFile).subarray(fromOffset).toString("utf8");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
