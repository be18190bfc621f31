/**
 * Summarises the CPU profiles of `npm run bench -- e2e` run with
 * `BENCH_E2E_SERVICE_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"`: self time by package, per
 * profile (one per service process' main thread), so the README can say where the time goes.
 * `npx tsx bench/_e2e-profile.ts DIR [FROM_US TO_US]`, the window the bench prints ("rounds ran from
 * … to … µs of CLOCK_MONOTONIC", V8's profile clock on Linux) to leave out start-up and shutdown. A sample is charged to the frame nearest its leaf that
 * belongs somewhere: a package under node_modules (`pg`, `kafkajs`, `@prisma/client`, …), one of
 * ours (`ours:services/order`, `ours:packages/events`, …), Node's crypto (`crypto`), Node's fetch
 * (`undici`), or GC, idle
 * and V8's "(program)"; frames of Node itself (`node:…`) and native code are walked through to
 * their caller, but are counted apart as `node internals` when nothing above them belongs.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** The bucket of one frame, or undefined when the frame is walked through to its caller. */
function bucketOf(frame: ProfileNode["callFrame"]): string | undefined {
  const { functionName, url } = frame;
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(idle)") return "idle";
  if (functionName === "(program)") return "(program)";
  if (functionName === "(root)") return "node internals";
  if (url.startsWith("node:crypto") || url.startsWith("node:internal/crypto")) return "crypto";
  // Node's own fetch is undici, bundled under node:internal/deps.
  if (url.startsWith("node:internal/deps/undici")) return "undici";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const rest = url.slice(modules + "/node_modules/".length).split("/");
    const name = rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
    // Our workspace packages are linked into node_modules; name them as ours.
    return name.startsWith("@tributary/") ? `ours:${name.slice("@tributary/".length)}` : name;
  }
  const ours = /\/work\/[^/]+\/((?:services|packages|apps|infra)\/[^/]+)\//.exec(url);
  if (ours !== null) return `ours:${ours[1]}`;
  return undefined;
}

function summarise(profile: Profile, fromUs: number, toUs: number): { totalMs: number; buckets: Map<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const bucketOfNode = new Map<number, string>();
  const resolve = (id: number): string => {
    const cached = bucketOfNode.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id)!;
    const own = bucketOf(node.callFrame);
    const up = parent.get(id);
    const bucket = own ?? (up === undefined ? "node internals" : resolve(up));
    bucketOfNode.set(id, bucket);
    return bucket;
  };
  const buckets = new Map<string, number>();
  let totalMs = 0;
  let atUs = profile.startTime;
  profile.samples.forEach((id, i) => {
    atUs += profile.timeDeltas[i] ?? 0;
    if (atUs < fromUs || atUs > toUs) return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1_000;
    totalMs += ms;
    const bucket = resolve(id);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + ms);
  });
  return { totalMs, buckets };
}

const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: npx tsx bench/_e2e-profile.ts DIR [FROM_US TO_US]");
const fromUs = Number(process.argv[3] ?? "0");
const toUs = Number(process.argv[4] ?? String(Number.MAX_SAFE_INTEGER));
for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).sort()) {
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as Profile;
  const { totalMs, buckets } = summarise(profile, fromUs, toUs);
  const idle = buckets.get("idle") ?? 0;
  const busy = totalMs - idle;
  const rows = [...buckets.entries()].filter(([name]) => name !== "idle").sort((a, b) => b[1] - a[1]);
  process.stdout.write(`${file}: ${(totalMs / 1_000).toFixed(1)} s profiled, ${(busy / 1_000).toFixed(1)} s busy (${((busy / totalMs) * 100).toFixed(0)} %)\n`);
  for (const [name, ms] of rows.slice(0, 16)) {
    process.stdout.write(`  ${name.padEnd(36)} ${(ms / 1_000).toFixed(2).padStart(7)} s  ${((ms / busy) * 100).toFixed(1).padStart(5)} % of busy\n`);
  }
}
