import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";

/** Where Debian's `chromium` package puts the browser. */
const debianChromium = "/usr/bin/chromium";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs apt-get as this process's user; the dpkg lock is waited for, since another install may hold it. */
function aptGet(args: readonly string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawn("apt-get", ["-o", "DPkg::Lock::Timeout=300", ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
    child.on("error", (error) => resolveRun({ ok: false, output: error.message }));
    child.on("close", (code) => resolveRun({ ok: code === 0, output: output.join("") }));
  });
}

function lastLine(output: string): string {
  return output.trim().split("\n").at(-1) ?? "";
}

/**
 * The path of a real Chromium for browser tests, installed from Debian's `chromium` package when
 * it is missing — never a browser build downloaded by playwright, which this project's machines
 * cannot fetch. CI starts on a fresh machine, so the test that needs the browser calls this in its
 * set-up (unit-only runs never pay for the install, about a minute). `CHROMIUM_PATH` names another
 * binary. Throws one line saying what to run when the browser is missing and cannot be installed
 * (not root, or apt-get failed).
 */
export async function ensureChromium(): Promise<string> {
  const override = process.env["CHROMIUM_PATH"];
  if (override !== undefined && override !== "") {
    if (!executable(override)) throw new Error(`CHROMIUM_PATH=${override} is not an executable file`);
    return override;
  }
  if (executable(debianChromium)) return debianChromium;
  const manual = "apt-get install -y --no-install-recommends chromium";
  if (process.getuid?.() !== 0) {
    throw new Error(`chromium is not installed (${debianChromium}) and this user is not root: run \`sudo ${manual}\` or set CHROMIUM_PATH`);
  }
  const install = ["install", "-y", "--no-install-recommends", "chromium"];
  let installed = await aptGet(install);
  // A fresh machine may have no package lists, or lists older than the mirror (404 on a .deb):
  // fetch them once, only when the install needs them.
  if (!installed.ok && /Unable to locate package|has no installation candidate|404 {1,2}Not Found|Failed to fetch/.test(installed.output)) {
    const updated = await aptGet(["update"]);
    if (!updated.ok) throw new Error(`chromium is not installed and \`apt-get update\` failed: ${lastLine(updated.output)}`);
    installed = await aptGet(install);
  }
  if (!installed.ok) throw new Error(`chromium is not installed and \`${manual}\` failed: ${lastLine(installed.output)}`);
  if (!executable(debianChromium)) throw new Error(`\`${manual}\` succeeded but ${debianChromium} is not there`);
  return debianChromium;
}
