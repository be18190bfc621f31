/**
 * The operator's loop on a real stack (the test broker, a private set of databases):
 * `tributary stack up` in the background, `stack status` sees every service ready, `stack down`
 * stops it all, then `stack status` says nothing runs (exit 3); in between, `simulate` publishes
 * orders the order service accepts. Usage errors exit 2.
 */
import { execFile, spawn } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { dropDatabase, findServiceDatabases } from "@tributary/local-postgres";
import { testKafkaBrokers, testPostgresServerUrl } from "@tributary/testkit/vitest";
import { afterAll, describe, expect, it } from "vitest";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");
const databaseSuffix = `_test_cli_${process.pid}`;
const env = {
  ...process.env,
  KAFKA_BROKERS: testKafkaBrokers().join(","),
  POSTGRES_URL: testPostgresServerUrl(),
  TRIBUTARY_DATABASE_SUFFIX: databaseSuffix,
};
const cliEntry = resolve(repoRoot, "apps/cli/src/main.ts");

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--conditions=source", cliEntry, ...args], { cwd: repoRoot, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
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

describe("tributary stack up | status | simulate | trace | routing | down", () => {
  afterAll(async () => {
    for (const service of await findServiceDatabases(repoRoot)) await dropDatabase(testPostgresServerUrl(), `${service.database}${databaseSuffix}`);
  });

  it("status sees the running stack's services ready; down stops every process; status then exits 3", async () => {
    const stack = spawn(process.execPath, ["--import", "tsx", "--conditions=source", cliEntry, "stack", "up"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    stack.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    stack.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolveExit) => stack.once("exit", (code) => resolveExit(code)));
    const deadline = Date.now() + 120_000;
    while (!output.includes("running; Ctrl-C") && !output.includes("✗") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(output).toContain("running; Ctrl-C");

    const status = await cli("stack", "status", "--json");
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as { stackAlive: boolean; services: { name: string; pid: number; ready: boolean }[] };
    expect(report.stackAlive).toBe(true);
    expect(report.services.map((service) => service.name)).toContain("order");
    expect(report.services.every((service) => service.ready)).toBe(true);

    // A simulated upstream system's orders all come back accepted from the order service process.
    const simulated = await cli("simulate", "--orders", "300", "--run-id", `cli-test-${process.pid}`, "--json");
    expect(simulated.code).toBe(0);
    const simulation = JSON.parse(simulated.stdout) as { published: number; accepted: number; rejected: number; sampleOrderIds: string[] };
    expect(simulation).toMatchObject({ published: 300, accepted: 300, rejected: 0 });

    // One of those orders as a trace tree, from the spans the order service process wrote
    // (its batch exporter flushes every few seconds, so give it a moment).
    const orderId = simulation.sampleOrderIds[0]!;
    let trace = await cli("trace", orderId);
    for (let attempt = 0; attempt < 30 && trace.code !== 0; attempt += 1) {
      await new Promise((r) => setTimeout(r, 500));
      trace = await cli("trace", orderId);
    }
    expect(trace.code).toBe(0);
    expect(trace.stdout).toContain("order");
    const missing = await cli("trace", "01900000-0000-7000-8000-000000000000");
    expect(missing.code).toBe(3);

    // The routing policy and a decision explained, from the payment-routing process over gRPC.
    const shown = await cli("routing", "show", "--json");
    expect(shown.code).toBe(0);
    expect((JSON.parse(shown.stdout) as { version: number }).version).toBeGreaterThanOrEqual(1);
    const preview = await cli("routing", "preview", "--merchant", "m-taobao-1", "--amount", "129.90", "--category", "gift_card", "--json");
    expect(preview.code).toBe(0);
    const decision = JSON.parse(preview.stdout) as { candidates: unknown[]; dropped: { reasons: { code: string }[] }[] };
    expect(decision.candidates.length).toBeGreaterThan(0);
    expect(decision.dropped.flatMap((dropped) => dropped.reasons.map((reason) => reason.code))).toContain("excluded_by_rule");
    const resume = await cli("routing", "resume", "no-such-rollout", "--reason", "test");
    expect(resume.code).toBe(1);
    expect(resume.stderr).toContain("no-such-rollout");

    const down = await cli("stack", "down");
    expect(down.code).toBe(0);
    expect(await exited).toBe(0);
    for (const service of report.services) expect(alive(service.pid)).toBe(false);

    const after = await cli("stack", "status");
    expect(after.code).toBe(3);
    expect(after.stderr).toContain("no local stack is running");
  }, 180_000);

  it("an unknown command or a missing option is a usage error (exit 2) with help", async () => {
    const unknown = await cli("bogus");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'bogus'");
    const missing = await cli("dlq", "replay");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--topic");
  }, 60_000);
});
