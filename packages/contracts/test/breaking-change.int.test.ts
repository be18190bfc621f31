import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");
const buf = join(repoRoot, "node_modules", ".bin", "buf");

async function breakingAgainstRelease(mutate: (orderProto: string) => string): Promise<{ code: number; output: string }> {
  const work = await mkdtemp(join(tmpdir(), "tributary-breaking-"));
  await cp(join(repoRoot, "proto"), join(work, "proto"), { recursive: true });
  await cp(join(repoRoot, "buf.yaml"), join(work, "buf.yaml"));
  const file = join(work, "proto/tributary/order/v1/order.proto");
  await writeFile(file, mutate(await readFile(file, "utf8")));
  const release = join(repoRoot, "proto/releases/contracts-0.1.0.binpb");
  try {
    const { stdout, stderr } = await run(buf, ["breaking", "--against", release], { cwd: work });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

describe("buf breaking against the released contracts", () => {
  it("passes for the contracts as they are", async () => {
    const result = await breakingAgainstRelease((proto) => proto);
    expect(result).toEqual({ code: 0, output: "" });
  });

  it("fails when a field changes its number", async () => {
    const result = await breakingAgainstRelease((proto) => proto.replace("int64 quantity = 3;", "int64 quantity = 30;"));
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/quantity/);
  });
});
