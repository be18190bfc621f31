// Plain Node (no dependencies), so `npm test` / `npm start` work on a fresh clone before
// anything is installed: checks the Node version, installs dependencies when node_modules is
// missing or older than package-lock.json, and runs a command with inherited stdio.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Fails with a one-line message when Node is older than the engines field allows. */
export function checkNodeVersion() {
  const [major, minor] = process.versions.node.split(".").map((part) => Number.parseInt(part, 10));
  if (major < 20 || (major === 20 && minor < 19)) {
    fail(`Node ${process.versions.node} is too old: Tributary needs Node >= 20.19 (22 or 24 work too)`);
  }
}

/** Runs `npm ci` when dependencies are missing or stale. */
export function ensureInstalled() {
  checkNodeVersion();
  const marker = join(repoRoot, "node_modules", ".package-lock.json");
  const lock = join(repoRoot, "package-lock.json");
  const stale = !existsSync(marker) || statSync(lock).mtimeMs > statSync(marker).mtimeMs;
  if (!stale) return;
  console.log("› installing dependencies (npm ci)");
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}

/** Runs a command in the repository root; exits with its status when it fails. */
export function run(command, args, options = {}) {
  const started = Date.now();
  const result = spawnSync(command, args, {
    cwd: repoRoot,
    stdio: "inherit",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", KAFKAJS_NO_PARTITIONER_WARNING: "1", ...options.env },
  });
  if (result.error) fail(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) {
    fail(`${command} ${args.join(" ")} failed with exit code ${result.status ?? result.signal}`, result.status ?? 1);
  }
  return Date.now() - started;
}

/** Prints a one-line error and exits. */
export function fail(message, code = 1) {
  console.error(`✗ ${message}`);
  process.exit(code);
}
