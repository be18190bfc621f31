/**
 * The composition root as a real process: `src/main.ts` with the environment's settings becomes
 * ready (HTTP /readyz 200), stops cleanly on SIGTERM (exit 0), and refuses bad settings — a bad
 * number, a fee terms file with a bad field — with one line naming it (exit 1).
 */
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { testDatabaseUrl, testKafkaBrokers } from "@tributary/testkit/vitest";
import { describe, expect, it } from "vitest";
import { eventually } from "./settlement-test-env.js";

const serviceRoot = fileURLToPath(new URL("..", import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "--import", "@tributary/telemetry/register", "--conditions=source", "src/main.ts"], {
    cwd: serviceRoot,
    env: {
      ...process.env,
      SETTLEMENT_DATABASE_URL: testDatabaseUrl("tributary_settlement"),
      KAFKA_BROKERS: testKafkaBrokers().join(","),
      SETTLEMENT_AUTH_TOKENS: "main-test-token:finance:settlement:read:merchants=*",
      SETTLEMENT_CLOSE_INTERVAL_MS: "3600000",
      OTEL_SDK_DISABLED: "true",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe("src/main.ts", () => {
  it("becomes ready and stops on SIGTERM with exit 0", async () => {
    const health = await freePort();
    const grpc = await freePort();
    const run = start({ SETTLEMENT_HEALTH_ADDRESS: `127.0.0.1:${health}`, SETTLEMENT_GRPC_ADDRESS: `127.0.0.1:${grpc}` });
    try {
      await eventually(async () => {
        const response = await fetch(`http://127.0.0.1:${health}/readyz`).catch(() => undefined);
        return response?.status === 200 ? true : undefined;
      }, "settlement /readyz 200", 90_000);
    } catch (error) {
      run.child.kill("SIGKILL");
      throw new Error(`${String(error)}\n${run.output()}`);
    }
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  }, 120_000);

  it("refuses a bad setting and a bad fee terms file with one line naming it", async () => {
    const bad = start({ SETTLEMENT_POOL_SIZE: "many" });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toMatch(/SETTLEMENT_POOL_SIZE/);
    const dir = await mkdtemp(join(tmpdir(), "settlement-terms-"));
    const file = join(dir, "terms.json");
    await writeFile(file, JSON.stringify({ providers: { alipay: { defaultSchedule: { ratePpm: 6000, rounding: "nearest" } } } }));
    const badTerms = start({ SETTLEMENT_FEE_TERMS_FILE: file, SETTLEMENT_HEALTH_ADDRESS: "", SETTLEMENT_GRPC_ADDRESS: `127.0.0.1:${await freePort()}` });
    expect(await badTerms.exited).toBe(1);
    expect(badTerms.output()).toMatch(/providers\.alipay\.defaultSchedule\.rounding/);
  }, 120_000);
});
