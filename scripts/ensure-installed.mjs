// Plain Node (no dependencies), so every README command works on a fresh clone before anything is
// installed or generated: checks the Node version, installs dependencies when node_modules is
// missing or older than package-lock.json, generates the protobuf TypeScript (turbo's `generate`
// task, cached by its inputs), and runs commands — the long-running ones with signals forwarded.
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

const childEnv = { TURBO_TELEMETRY_DISABLED: "1", KAFKAJS_NO_PARTITIONER_WARNING: "1" };

/** Fails with a one-line message when Node is older than the engines field allows. */
export function checkNodeVersion() {
  const [major, minor] = process.versions.node.split(".").map((part) => Number.parseInt(part, 10));
  if (major < 20 || (major === 20 && minor < 19)) {
    fail(`Node ${process.versions.node} is too old: Tributary needs Node >= 20.19 (22 or 24 work too)`);
  }
}

/** Runs `npm ci` when dependencies are missing or stale. */
export async function ensureInstalled() {
  checkNodeVersion();
  const marker = join(repoRoot, "node_modules", ".package-lock.json");
  const lock = join(repoRoot, "package-lock.json");
  const stale = !existsSync(marker) || statSync(lock).mtimeMs > statSync(marker).mtimeMs;
  if (!stale) return;
  console.log("› installing dependencies (npm ci)");
  await run("npm", ["ci", "--no-audit", "--no-fund"]);
}

/**
 * Generates the protobuf TypeScript every workspace imports (`@tributary/contracts`, the gRPC
 * error model) with turbo's `generate` task. Generated code is not committed, so every entry point
 * — `npm start`, `npm test`, `npm run bench`, `npm run db:migrate`, a service's own `npm start` —
 * calls this first; turbo's cache makes a repeat cost ~0.3 s.
 */
export async function ensureGenerated() {
  await run(join(repoRoot, "node_modules", ".bin", "turbo"), ["run", "generate", "--output-logs=errors-only", "--log-prefix=none"], {
    quiet: true,
  });
}

/** Installs and generates: what every entry point needs before it runs TypeScript. */
export async function ensureReady() {
  await ensureInstalled();
  await ensureGenerated();
}

/** The signals a container runtime, a process manager or a terminal sends to stop a process. */
const forwardedSignals = ["SIGINT", "SIGTERM", "SIGHUP"];
const signalNumbers = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Starts a command as a child of this process with SIGINT/SIGTERM/SIGHUP forwarded to it, and
 * resolves with its exit code (128 + n when signal n ended it). `spawnSync`, which these scripts
 * used first, forwards nothing and blocks the event loop: a SIGTERM to `npm start` killed the
 * wrapper and left the stack and its Kafka broker running. While a child runs, a signal to this
 * process only reaches the child; this process exits once the child has.
 */
export function spawnForwardingSignals(command, args, options = {}) {
  return new Promise((resolveExit) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      stdio: options.quiet === true ? ["ignore", "pipe", "inherit"] : "inherit",
      env: { ...process.env, ...childEnv, ...options.env },
    });
    const output = [];
    child.stdout?.on("data", (chunk) => output.push(chunk));
    const forward = (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const signal of forwardedSignals) process.on(signal, forward);
    // If whoever started us dies without a signal reaching us (SIGKILL, a shell that does not
    // forward), we are re-parented: treat that as SIGTERM so the child does not outlive it.
    const parent = process.ppid;
    const orphanWatch = setInterval(() => {
      if (process.ppid !== parent) forward("SIGTERM");
    }, 1_000);
    orphanWatch.unref();
    child.once("error", (error) => fail(`${command} could not start: ${error.message}`));
    child.once("close", (code, signal) => {
      for (const name of forwardedSignals) process.off(name, forward);
      clearInterval(orphanWatch);
      resolveExit({ code: signal === null ? (code ?? 1) : 128 + (signalNumbers[signal] ?? 1), signal, output: Buffer.concat(output) });
    });
  });
}

/** Runs a command in the repository root; exits with its status when it fails. */
export async function run(command, args, options = {}) {
  const started = Date.now();
  const result = await spawnForwardingSignals(command, args, options);
  if (result.signal !== null) process.exit(result.code);
  if (result.code !== 0) {
    if (options.quiet === true) process.stdout.write(result.output);
    fail(`${command} ${args.join(" ")} failed with exit code ${result.code}`, result.code);
  }
  return Date.now() - started;
}

/**
 * Runs a TypeScript entry point with Node itself (`node --import tsx`, no npx or tsx wrapper in
 * between, so the process tree is this wrapper and one Node) and exits with its exit code.
 */
export async function runTypeScript(entry, args, options = {}) {
  const result = await spawnForwardingSignals(
    process.execPath,
    ["--import", "tsx", "--conditions=source", ...(options.nodeOptions ?? []), entry, ...args],
    options,
  );
  process.exit(result.code);
}

/** Prints a one-line error and exits. */
export function fail(message, code = 1) {
  console.error(`✗ ${message}`);
  process.exit(code);
}
