// `npm test`: the one command a new user (and CI) runs. Installs what is missing, generates and
// checks the contracts, typechecks and lints every workspace, then runs unit and integration
// tests with vitest; the integration project's global setup starts a real Kafka broker (Maven
// Central jars, or KAFKA_BROKERS, or testcontainers) and creates and migrates the Postgres test
// databases. Extra arguments go to vitest, e.g. `npm test -- services/order`.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { ensureInstalled, fail, repoRoot, run } from "./ensure-installed.mjs";

const started = Date.now();
ensureInstalled();
console.log("› generate + typecheck (turbo)");
run("npx", ["turbo", "run", "typecheck", "--output-logs=errors-only"]);
run("npx", ["tsc", "-p", "tsconfig.json"]); // scripts/, bench/ and the vitest config
console.log("› lint (eslint, type-aware)");
run("npx", ["eslint", "."]);
console.log("› contracts: buf lint + buf breaking against the last release");
run("node", ["scripts/check-contracts.mjs"]);

console.log("› vitest (unit + integration on real Kafka and Postgres)");
mkdirSync(`${repoRoot}/.tributary`, { recursive: true });
const report = `${repoRoot}/.tributary/vitest-report.json`;
rmSync(report, { force: true });
const vitest = spawnSync(
  "npx",
  ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { cwd: repoRoot, stdio: "inherit", env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: "1" } },
);
let counts;
try {
  counts = JSON.parse(readFileSync(report, "utf8"));
} catch {
  fail(`vitest wrote no report (exit code ${vitest.status ?? vitest.signal}); see its output above`);
}
const seconds = Math.round((Date.now() - started) / 1000);
// The plain closing line CI reads: "N passed, N failed, N skipped".
console.log(`tests: ${counts.numPassedTests} passed, ${counts.numFailedTests} failed, ${counts.numPendingTests + counts.numTodoTests} skipped`);
if (vitest.status !== 0 || counts.numFailedTests > 0 || counts.numPassedTests === 0) {
  fail(`tests failed after ${seconds} s`, vitest.status || 1);
}
console.log(`✓ all checks passed in ${seconds} s`);
