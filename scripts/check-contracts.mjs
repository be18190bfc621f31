// Lints proto/ with buf's STANDARD rules and checks it for breaking changes against the newest
// released image in proto/releases/ (cut one with `node scripts/release-contracts.mjs X.Y.Z`).
import { readdirSync } from "node:fs";
import { fail, repoRoot, run } from "./ensure-installed.mjs";

const releases = readdirSync(`${repoRoot}/proto/releases`)
  .filter((name) => /^contracts-\d+\.\d+\.\d+\.binpb$/.test(name))
  .sort((a, b) => compareVersions(version(a), version(b)));
const latest = releases.at(-1);
if (latest === undefined) fail("no released contracts image in proto/releases/");
await run("npx", ["buf", "lint"]);
await run("npx", ["buf", "breaking", "--against", `proto/releases/${latest}`]);
console.log(`contracts: lint clean, no breaking change against ${latest}`);

function version(name) {
  return name.slice("contracts-".length, -".binpb".length).split(".").map(Number);
}
function compareVersions(a, b) {
  for (let i = 0; i < 3; i += 1) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
