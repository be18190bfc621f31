/**
 * A process killed with SIGKILL runs no exit hook, so the launcher cannot stop its broker then:
 * the kernel must (setpriv --pdeathsig KILL). This starts a broker from a child Node process,
 * SIGKILLs that process, and checks that the JVM is gone too.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const launcher = resolve(fileURLToPath(import.meta.url), "../fixtures/start-one-broker.ts");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("a broker started by a process that is SIGKILLed", () => {
  it("is killed with it", async () => {
    const parent = spawn(process.execPath, ["--import", "tsx", "--conditions=source", launcher], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const jvmPid = await new Promise<number>((resolvePid, reject) => {
      let output = "";
      parent.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        const match = /^jvm (\d+)$/m.exec(output);
        if (match?.[1] !== undefined) resolvePid(Number.parseInt(match[1], 10));
      });
      parent.once("exit", (code) => reject(new Error(`the launcher exited (${code}) before its broker was up: ${output}`)));
    });
    expect(alive(jvmPid)).toBe(true);
    parent.kill("SIGKILL");
    const deadline = Date.now() + 15_000;
    while (alive(jvmPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive(jvmPid)).toBe(false);
  }, 120_000);
});
