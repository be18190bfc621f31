import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { testDatabaseUrl } from "@tributary/testkit/vitest";
import { describe, expect, it } from "vitest";

// The `recon` command as a real child process against the test database.
const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
const bill = fileURLToPath(new URL("fixtures/jdpay-2026-11-23.csv", import.meta.url));

function recon(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "--conditions=source", cli, ...args], { env: { ...process.env, RECONCILIATION_DATABASE_URL: testDatabaseUrl("tributary_reconciliation") } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
  });
}

describe("recon", () => {
  it("runs a day from a file, prints JSON, exits 1 while exceptions are open, and resolves one", async () => {
    const run = await recon(["run", "--provider", "jdpay", "--date", "2026-11-23", "--file", bill, "--exception-after-days", "0", "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(1);
    const outcome = JSON.parse(run.stdout) as { kind: string; billRowCount: number; openExceptions: { exceptionId: string; matchClass: string }[] };
    expect(outcome.kind).toBe("completed");
    // Nothing of ours for that day: every row is missing in the ledger, but for the payment at
    // 23:59:59.900, which is a cut-off crossing carried to the next day.
    expect(outcome.openExceptions.length).toBe(outcome.billRowCount - 1);
    expect(new Set(outcome.openExceptions.map((e) => e.matchClass))).toEqual(new Set(["missing_in_ledger"]));

    const again = await recon(["run", "--provider", "jdpay", "--date", "2026-11-23", "--file", bill]);
    expect(again.stdout).toMatch(/already reconciled/);

    const first = outcome.openExceptions[0]?.exceptionId ?? "";
    const resolved = await recon(["exceptions", "resolve", first, "--note", "test merchant, not ours", "--by", "oncall:wang"]);
    expect(resolved.code).toBe(0);
    expect(resolved.stdout).toMatch(/resolved by oncall:wang/);
    const twice = await recon(["exceptions", "resolve", first, "--note", "again", "--by", "oncall:wang"]);
    expect(twice.code).toBe(4);
    expect(twice.stderr).toMatch(/exception_not_open/);
    const list = await recon(["exceptions", "list", "--provider", "jdpay", "--date", "2026-11-23", "--json"]);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(outcome.billRowCount - 2);
  });

  it("rejects a bill of another provider's format with file, line and column, exit 2", async () => {
    const run = await recon(["run", "--provider", "ecny", "--date", "2026-11-23", "--file", bill]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/jdpay-2026-11-23\.csv:1:1: bad_header \(provider\)/);
  });
});
