import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const probe = fileURLToPath(new URL("../test/fixtures/loader-hook-probe.mjs", import.meta.url));

function runProbe(preload: readonly string[]): string {
  const result = spawnSync(process.execPath, ["--import", "tsx", "--conditions=source", ...preload, probe], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.trim();
}

describe("@tributary/telemetry/register", () => {
  it("installs the ESM loader hook that instrumentations patch imports through", () => {
    expect(runProbe(["--import", "@tributary/telemetry/register"])).toBe("hooked");
  });

  it("is what makes the difference: without it imports are not hooked", () => {
    expect(runProbe([])).toBe("not hooked");
  });
});
