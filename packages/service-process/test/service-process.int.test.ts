import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createServer } from "node:net";
import { freeLocalPort, ServiceStartError, startOnFreshPorts, startServiceProcess } from "@tributary/service-process";

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

async function startTiny(env: Record<string, string> = {}, readyTimeoutMs?: number, givenPort?: number) {
  const port = givenPort ?? (await freeLocalPort());
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

  it("a port taken between the pick and the bind: the start fails as addressInUse, and startOnFreshPorts starts again on another", async () => {
    // Another process's listener, as far as the service can tell; it hangs up on anyone who calls.
    const squatter = createServer((socket) => socket.destroy());
    const taken = await freeLocalPort();
    await new Promise<void>((listening) => squatter.listen(taken, "127.0.0.1", listening));
    try {
      const failure = await startTiny({}, undefined, taken).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ServiceStartError);
      expect((failure as ServiceStartError).addressInUse).toBe(true);

      const ports: number[] = [];
      const service = await startOnFreshPorts(async () => {
        const port = ports.length === 0 ? taken : await freeLocalPort();
        ports.push(port);
        return startTiny({}, undefined, port);
      });
      try {
        expect(ports).toHaveLength(2);
        expect(ports[1]).not.toBe(taken);
        expect((await fetch(`http://127.0.0.1:${ports[1]}/readyz`)).status).toBe(200);
      } finally {
        await service.stop();
      }
    } finally {
      await new Promise<void>((closed) => squatter.close(() => closed()));
    }
  });

  it("startOnFreshPorts does not retry a start that failed for another reason", async () => {
    let attempts = 0;
    const failure = await startOnFreshPorts(() => {
      attempts += 1;
      return startTiny({ FAIL_AT_START: "1" });
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ServiceStartError);
    expect((failure as ServiceStartError).addressInUse).toBe(false);
    expect(attempts).toBe(1);
  });

  it("freeLocalPort picks below the kernel's ephemeral range, where outgoing connections take no port", async () => {
    const [floor] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    const ports = await Promise.all(Array.from({ length: 20 }, () => freeLocalPort()));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(floor!);
    }
    expect(new Set(ports).size).toBe(ports.length);
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
