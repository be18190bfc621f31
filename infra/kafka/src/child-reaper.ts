import type { ChildProcess } from "node:child_process";

const live = new Set<ChildProcess>();
let hooked = false;

function reapAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  live.clear();
}

/**
 * Ties a broker JVM to the life of this Node process: when Node exits normally (end of the
 * event loop, process.exit, vitest tearing a worker down) every broker still running is
 * SIGKILLed, so no JVM outlives the tests or script that started it. SIGKILL because the
 * 'exit' hook cannot wait for a graceful shutdown; callers wanting one call `stop()` first.
 * A Node process killed by a signal it does not handle skips 'exit' hooks; the CLI handles
 * SIGINT/SIGTERM itself for that reason.
 */
export function reapOnExit(child: ChildProcess): void {
  if (!hooked) {
    process.once("exit", reapAll);
    hooked = true;
  }
  live.add(child);
  child.once("exit", () => live.delete(child));
}
