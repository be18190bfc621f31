/**
 * `npm start` is what containers and process managers run; they stop it with SIGTERM to the
 * process they started (npm), or SIGKILL. Every process the stack started must stop with it:
 * the wrapper, the stack and its services. (The broker JVM's own tie to its parent is tested in
 * infra/kafka.) This runs the real `npm start` against a broker of this file's own and a private
 * set of databases, then signals npm and checks that its whole process tree is gone. Its own
 * broker: the stack's smoke flow publishes orders and payments, and a stack still stopping would
 * consume with the services' real group names; on the worker slot's broker either would reach
 * the files that run after this one.
 */
import { spawn, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startKafka, type KafkaCluster } from "@tributary/local-kafka";
import { dropDatabase, findServiceDatabases } from "@tributary/local-postgres";
import { testPostgresServerUrl } from "@tributary/testkit/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../..");
const databaseSuffix = `_test_${process.pid}`;

/** Every descendant pid of `pid`, from /proc via ps. */
function descendants(pid: number): number[] {
  const table = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
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

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let broker: KafkaCluster | undefined;
/** Every npm this file started, so one whose test failed is stopped with its whole tree after all. */
const startedStacks: number[] = [];

async function startStack(): Promise<{ pid: number; output: () => string; exited: Promise<number | null> }> {
  if (broker === undefined) throw new Error("the file's broker did not start");
  const child = spawn("npm", ["start"], {
    cwd: repoRoot,
    env: {
      ...process.env,
      KAFKA_BROKERS: broker.brokers.join(","),
      POSTGRES_URL: testPostgresServerUrl(),
      TRIBUTARY_DATABASE_SUFFIX: databaseSuffix,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  if (child.pid !== undefined) startedStacks.push(child.pid);
  await waitFor(() => output.includes("running; Ctrl-C") || output.includes("✗"), 120_000, "the stack to come up");
  if (!output.includes("running; Ctrl-C")) throw new Error(`the stack did not come up:\n${output}`);
  if (child.pid === undefined) throw new Error("npm has no pid");
  return { pid: child.pid, output: () => output, exited };
}

/** SIGKILLs `pid` and every descendant it still has (a stack whose test failed half-way). */
function killTree(pid: number): void {
  for (const member of [pid, ...descendants(pid)]) {
    try {
      process.kill(member, "SIGKILL");
    } catch {
      // gone already
    }
  }
}

describe("npm start stops with its parent", () => {
  beforeAll(async () => {
    broker = await startKafka({ nodes: 1 });
  }, 120_000);

  afterAll(async () => {
    for (const pid of startedStacks) if (alive(pid)) killTree(pid);
    await broker?.stop();
    for (const service of await findServiceDatabases(repoRoot)) {
      await dropDatabase(testPostgresServerUrl(), `${service.database}${databaseSuffix}`);
    }
  });

  it("SIGTERM to npm stops the wrapper, the stack and its services, and npm exits", async () => {
    const stack = await startStack();
    const tree = descendants(stack.pid);
    expect(tree.length).toBeGreaterThanOrEqual(3); // the wrapper, the stack, its service processes (esbuild's service too)
    expect(tree.some((pid) => commandLine(pid).includes("services/order/src/main.ts"))).toBe(true);
    process.kill(stack.pid, "SIGTERM");
    await stack.exited;
    await waitFor(() => tree.every((pid) => !alive(pid)), 30_000, `processes ${tree.join(", ")} to exit`);
    expect(stack.output()).toContain("stack: SIGTERM, stopping");
  }, 180_000);

  it("SIGKILL to npm (no signal can be forwarded) still stops everything it started", async () => {
    const stack = await startStack();
    const tree = descendants(stack.pid);
    expect(tree.some((pid) => commandLine(pid).includes("services/order/src/main.ts"))).toBe(true);
    process.kill(stack.pid, "SIGKILL");
    await waitFor(() => tree.every((pid) => !alive(pid)), 30_000, `processes ${tree.join(", ")} to exit`);
  }, 180_000);
});
