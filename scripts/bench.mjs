// `npm run bench -- NAME` runs bench/NAME.ts with tsx. Each benchmark measures a raw baseline and
// our path in the same run and prints, as its last stdout line, one JSON object with `ratio`.
import { existsSync, readdirSync } from "node:fs";
import { ensureReady, fail, repoRoot, runTypeScript } from "./ensure-installed.mjs";

const name = process.argv[2];
const available = readdirSync(`${repoRoot}/bench`)
  .filter((file) => file.endsWith(".ts") && !file.startsWith("_"))
  .map((file) => file.slice(0, -3));
if (name === undefined || !existsSync(`${repoRoot}/bench/${name}.ts`)) {
  fail(`usage: npm run bench -- NAME, where NAME is one of: ${available.join(", ") || "(none yet)"}`);
}
await ensureReady();
await runTypeScript(`bench/${name}.ts`, process.argv.slice(3));
