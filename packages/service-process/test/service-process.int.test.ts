import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { freeLocalPort, ServiceStartError, startServiceProcess } from "@tributary/service-process";

const here = fileURLToPath(new URL(".", import.meta.url));
const tinyService = resolve(here, "fixtures/tiny-service.mjs");
const packageRoot = resolve(here, "..");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startTiny(env: Record<string, string> = {}, readyTimeoutMs?: number) {
  const port = await freeLocalPort();
  const logFile = join(mkdtempSync(join(tmpdir(), "service-process-")), "tiny.log");
  return startServiceProcess({
    name: "tiny",
    entry: tinyService,
    cwd: packageRoot,
    env: { ...process.env, HEALTH_PORT: String(port), ...env },
    healthAddress: `127.0.0.1:${port}`,
    logFile,
    nodeArgs: [],
    ...(readyTimeoutMs === undefined ? {} : { readyTimeoutMs }),
  });
}

describe("startServiceProcess", () => {
  it("waits for /readyz, reads the child's CPU time, and stops it with SIGTERM", async () => {
    const service = await startTiny({ READY_AFTER_MS: "700" });
    expect(alive(service.pid)).toBe(true);
    // Ready only after READY_AFTER_MS: the 503s before it did not count as ready.
    expect(readFileSync(service.logFile, "utf8")).toContain(`pid ${service.pid} up`);
    expect(service.cpuTime()).toBeDefined();
    const exit = await service.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(readFileSync(service.logFile, "utf8")).toContain("SIGTERM, stopping");
    expect(service.cpuTime()).toBeUndefined();
  });

  it("counts the CPU the child burns", async () => {
    const port = await freeLocalPort();
    const logFile = join(mkdtempSync(join(tmpdir(), "service-process-")), "tiny.log");
    const service = await startServiceProcess({
      name: "tiny",
      entry: tinyService,
      cwd: packageRoot,
      env: { ...process.env, HEALTH_PORT: String(port) },
      healthAddress: `127.0.0.1:${port}`,
      logFile,
      nodeArgs: [],
    });
    try {
      const before = service.cpuTime()!;
      for (let i = 0; i < 3; i += 1) await (await fetch(`http://127.0.0.1:${port}/spin`)).text();
      const after = service.cpuTime()!;
      // 3 × 300 ms of the child's own CPU time (the fixture spins until it has used that much).
      expect(after.userMs + after.systemMs - (before.userMs + before.systemMs)).toBeGreaterThan(500);
    } finally {
      await service.stop();
    }
  });

  it("reports a child that exits during start-up with the tail of its log", async () => {
    const failure = await startTiny({ FAIL_AT_START: "1" }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ServiceStartError);
    expect((failure as Error).message).toContain("exited during start-up (code 3)");
    expect((failure as Error).message).toContain("cannot start: the configuration says so");
  });

  it("gives up on a child that never becomes ready, and stops it", async () => {
    const failure = await startTiny({ READY_AFTER_MS: "600000" }, 1_500).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ServiceStartError);
    expect((failure as Error).message).toMatch(/was not ready on http:\/\/127\.0\.0\.1:\d+\/readyz in 1500 ms/);
  });

  it("SIGKILLs a child that ignores SIGTERM once the grace is over", async () => {
    const service = await startTiny({ IGNORE_SIGTERM: "1" });
    const exit = await service.stop(1_000);
    expect(exit.signal).toBe("SIGKILL");
    expect(alive(service.pid)).toBe(false);
  });

  it("the child stops when its parent is SIGKILLed", async () => {
    const port = await freeLocalPort();
    const logFile = join(mkdtempSync(join(tmpdir(), "service-process-")), "tiny.log");
    const parent = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=source", resolve(here, "fixtures/start-and-wait.mjs"), tinyService, String(port), logFile],
      { cwd: packageRoot, stdio: ["ignore", "pipe", "inherit"] },
    );
    const childPid = await new Promise<number>((resolvePid, reject) => {
      let out = "";
      parent.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = /child (\d+)/.exec(out);
        if (match) resolvePid(Number(match[1]));
      });
      parent.once("exit", (code) => reject(new Error(`parent exited early (${code})`)));
    });
    expect(alive(childPid)).toBe(true);
    parent.kill("SIGKILL");
    const deadline = Date.now() + 10_000;
    while (alive(childPid) && Date.now() < deadline) await sleep(100);
    expect(alive(childPid)).toBe(false);
    // pdeathsig sent SIGTERM, so the child ran its graceful shutdown.
    expect(readFileSync(logFile, "utf8")).toContain("SIGTERM, stopping");
  });
});
