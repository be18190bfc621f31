import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { READY_LINE, readLog } from "./broker-log.js";
import { reapOnExit } from "./child-reaper.js";
import { canConnect } from "./free-port.js";

/** util-linux's setpriv on Linux (Debian ships it in util-linux, always installed); else none. */
const parentDeathWrapper = process.platform === "linux" && existsSync("/usr/bin/setpriv") ? "/usr/bin/setpriv" : undefined;

/** How one node's JVM is launched; fixed for the node's life so restarts reuse it. */
export type NodeLaunch = {
  readonly nodeId: number;
  readonly javaPath: string;
  readonly jvmOptions: readonly string[];
  readonly libsDir: string;
  readonly propertiesPath: string;
  readonly logFile: string;
  readonly brokerPort: number;
  readonly controllerPort: number;
};

/** Why waiting for a node ended without it being ready. */
export type NotReady =
  | { readonly kind: "exited"; readonly exitCode: number | null; readonly signal: NodeJS.Signals | null; readonly log: string }
  | { readonly kind: "timeout"; readonly log: string }
  /** Another node of the cluster failed first, so waiting for this one was given up. */
  | { readonly kind: "abandoned"; readonly log: string };

/**
 * One Kafka node's JVM: start, wait for ready, terminate or kill, start again. Output goes
 * straight to the node's log file (not through Node pipes), so a busy broker never blocks on
 * a full pipe and the log survives for post-mortems.
 */
export class KafkaNodeProcess {
  readonly launch: NodeLaunch;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(launch: NodeLaunch) {
    this.launch = launch;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the JVM; the log file is appended to, so restarts keep the earlier runs' lines. */
  start(): void {
    if (this.running) return;
    const { javaPath, jvmOptions, libsDir, propertiesPath, logFile } = this.launch;
    const fd = openSync(logFile, "a");
    try {
      const javaArgs = [...jvmOptions, "-cp", `${libsDir}/*`, "kafka.Kafka", propertiesPath];
      // setpriv --pdeathsig makes the kernel SIGKILL the JVM when this process dies, even by
      // SIGKILL (which skips every exit hook); setpriv then execs java, so the pid is the JVM's.
      const child = parentDeathWrapper === undefined
        ? spawn(javaPath, javaArgs, { stdio: ["ignore", fd, fd] })
        : spawn(parentDeathWrapper, ["--pdeathsig", "KILL", javaPath, ...javaArgs], { stdio: ["ignore", fd, fd] });
      this.exited = new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.once("error", () => resolve());
      });
      child.unref();
      reapOnExit(child);
      this.child = child;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Resolves "ready" once the log shows the ready line (after `logOffset`) and the broker port
   * accepts a TCP connection; otherwise says why not: the JVM exited, `timeoutMs` passed, or
   * `abandon` fired because a sibling node already failed.
   */
  async waitReady(timeoutMs: number, logOffset: number, abandon?: AbortSignal): Promise<"ready" | NotReady> {
    const deadline = Date.now() + timeoutMs;
    const child = this.child;
    for (;;) {
      const log = (await readLog(this.launch.logFile)).slice(logOffset);
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
        await this.exited;
        return {
          kind: "exited",
          exitCode: child?.exitCode ?? null,
          signal: child?.signalCode ?? null,
          log: (await readLog(this.launch.logFile)).slice(logOffset),
        };
      }
      if (log.includes(READY_LINE) && (await canConnect(this.launch.brokerPort))) return "ready";
      if (Date.now() >= deadline) return { kind: "timeout", log };
      if (abandon?.aborted === true) return { kind: "abandoned", log };
      await sleep(250);
    }
  }

  /**
   * SIGTERM (Kafka's clean shutdown); SIGKILL if it has not exited after `graceMs`. When
   * `hurry` fires (the cluster lost its controller quorum, so a clean shutdown cannot finish)
   * the remaining grace shrinks to `hurryGraceMs`.
   */
  async terminate(graceMs: number, hurry?: AbortSignal, hurryGraceMs = 3_000): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    // The child is unref'd so a forgotten cluster never holds Node open; while we wait for its
    // exit it must hold Node open, or the process would end mid-await and reap it with SIGKILL.
    child.ref();
    child.kill("SIGTERM");
    // Cancel the timers once the child is gone, or they alone would keep Node alive.
    const timers = new AbortController();
    const graceOver = sleep(graceMs, false, { signal: timers.signal }).catch(() => false);
    const hurried = new Promise<boolean>((resolve) => {
      const onHurry = (): void => {
        void sleep(hurryGraceMs, false, { signal: timers.signal })
          .catch(() => false)
          .then(resolve);
      };
      if (hurry?.aborted === true) onHurry();
      else hurry?.addEventListener("abort", onHurry, { once: true });
      timers.signal.addEventListener("abort", () => resolve(false), { once: true });
    });
    const gone = await Promise.race([this.exited.then(() => true), graceOver, hurried]);
    timers.abort();
    if (!gone) {
      child.kill("SIGKILL");
      await this.exited;
    }
  }

  /** SIGKILL, as a crash would: no clean shutdown, for failure tests. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    child.ref();
    child.kill("SIGKILL");
    await this.exited;
  }
}
