/**
 * Every command the README gives a new user runs on a clean clone with nothing run before it: each
 * root entry point installs and generates (`ensureReady`) before its first other step. A clean
 * clone has no generated contracts or Prisma clients, and an entry point that only installs fails
 * there (as `npm test` did: its typecheck met 100+ missing generated modules). The whole path is
 * run by `.ci/run` on a fresh clone; this catches an entry point that stops preparing, in seconds.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const entryPoints = ["test", "stack", "bench", "db-migrate", "tributary", "prepare-workspace"];

function topLevelAwaits(file: string): string[] {
  const source = readFileSync(new URL(`../${file}.mjs`, import.meta.url), "utf8");
  return source.split("\n").filter((line) => /^(const \w+ = )?await /.test(line));
}

describe("root entry points", () => {
  it.each(entryPoints)("scripts/%s.mjs installs and generates before any other step", (file) => {
    expect(topLevelAwaits(file)[0]).toMatch(/^await ensureReady\(\);$/);
  });

  it("every npm script that runs TypeScript goes through one of those entry points", () => {
    const scripts = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> }).scripts;
    for (const name of ["start", "test", "bench", "db:migrate", "tributary"]) {
      expect(scripts[name]).toMatch(new RegExp(`^exec node scripts/(${entryPoints.join("|")})\\.mjs$`));
    }
  });
});
