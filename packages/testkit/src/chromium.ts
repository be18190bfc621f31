import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";

/** Where Debian's `chromium` package puts the browser. */
const debianChromium = "/usr/bin/chromium";

/**
 * What a browser test needs from Debian, each with a file that shows it is installed: the browser,
 * and a small CJK font (1.6 MB), without which Chinese merchant names are drawn as empty boxes in
 * the screenshots (the page's text is right either way).
 */
const debianPackages: readonly { readonly name: string; readonly file: string }[] = [
  { name: "chromium", file: debianChromium },
  { name: "fonts-wqy-microhei", file: "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc" },
];

function installed(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

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
 * The path of a real Chromium for browser tests, installed from Debian's `chromium` package (with a
 * CJK font) when it is missing — never a browser build downloaded by playwright, which this
 * project's machines cannot fetch. CI starts on a fresh machine, so the test that needs the browser
 * calls this in its set-up (unit-only runs never pay for the install, about 40 s). `CHROMIUM_PATH`
 * names another binary and installs nothing. Throws one line saying what to run when the browser
 * is missing and cannot be installed (not root, or apt-get failed).
 */
export async function ensureChromium(): Promise<string> {
  const override = process.env["CHROMIUM_PATH"];
  if (override !== undefined && override !== "") {
    if (!executable(override)) throw new Error(`CHROMIUM_PATH=${override} is not an executable file`);
    return override;
  }
  const missing = debianPackages.filter((p) => !installed(p.file));
  if (missing.length === 0 && executable(debianChromium)) return debianChromium;
  const names = missing.map((p) => p.name);
  const manual = `apt-get install -y --no-install-recommends ${names.join(" ")}`;
  if (process.getuid?.() !== 0) {
    // Without the font only the screenshots suffer; without the browser there is no test.
    if (executable(debianChromium)) return debianChromium;
    throw new Error(`chromium is not installed (${debianChromium}) and this user is not root: run \`sudo ${manual}\` or set CHROMIUM_PATH`);
  }
  // Only the font may be missing: its install failing leaves the browser test able to run.
  const fail = (message: string): string => {
    if (!executable(debianChromium)) throw new Error(message);
    console.warn(`${message} — Chinese text may be drawn as boxes in screenshots`);
    return debianChromium;
  };
  const install = ["install", "-y", "--no-install-recommends", ...names];
  let result = await aptGet(install);
  // A fresh machine may have no package lists, or lists older than the mirror (404 on a .deb):
  // fetch them once, only when the install needs them.
  if (!result.ok && /Unable to locate package|has no installation candidate|404 {1,2}Not Found|Failed to fetch/.test(result.output)) {
    const updated = await aptGet(["update"]);
    if (!updated.ok) return fail(`${names.join(", ")} not installed and \`apt-get update\` failed: ${lastLine(updated.output)}`);
    result = await aptGet(install);
  }
  if (!result.ok) return fail(`${names.join(", ")} not installed and \`${manual}\` failed: ${lastLine(result.output)}`);
  if (!executable(debianChromium)) throw new Error(`\`${manual}\` succeeded but ${debianChromium} is not there`);
  return debianChromium;
}
