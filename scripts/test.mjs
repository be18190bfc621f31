// `npm test`: the one command a new user (and CI) runs. Installs what is missing, generates and
// checks the contracts, typechecks and lints every workspace, then runs unit and integration
// tests with vitest; the integration project's global setup starts a real Kafka broker (Maven
// Central jars, or KAFKA_BROKERS, or testcontainers) and creates and migrates the Postgres test
// databases. Extra arguments go to vitest, e.g. `npm test -- services/order`.
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { ensureReady, fail, repoRoot, spawnForwardingSignals } from "./ensure-installed.mjs";

const started = Date.now();
// Install and generate (the contracts, the Prisma clients) before anything reads the sources: tsc
// over the one program needs the generated modules, and since the typecheck stopped going through
// `turbo run typecheck` (which ran `generate` first) nothing else generated them — `npm test` on a
// clean clone failed with 100+ TS2307 until `npm start` or a day run had been run once.
await ensureReady();
// The three static checks run side by side (each is one single-threaded process; the machine has
// two cores), their output printed whole once each is done: one tsc program over every workspace,
// scripts/ and bench/ (the root tsconfig.json), so each file is checked once, where `turbo run
// typecheck` re-checked a package's sources in every workspace that imports them; eslint type-aware
// on that same program; buf lint and buf breaking against the last released contracts.
console.log("› typecheck (tsc, one program), lint (eslint, type-aware), contracts (buf lint + breaking), side by side");
const staticChecks = [
  { name: "typecheck", command: "npx", args: ["tsc", "-p", "tsconfig.json"] },
  { name: "lint", command: "npx", args: ["eslint", "."] },
  { name: "contracts", command: "node", args: ["scripts/check-contracts.mjs"] },
];
const checked = await Promise.all(
  staticChecks.map(async (check) => {
    const checkStarted = Date.now();
    const result = await spawnForwardingSignals(check.command, check.args, { quiet: true });
    return { ...check, ...result, seconds: Math.round((Date.now() - checkStarted) / 1000) };
  }),
);
for (const check of checked) {
  const output = check.output.toString().trimEnd();
  if (output !== "") console.log(output);
  console.log(`${check.code === 0 ? "✓" : "✗"} ${check.name} (${check.command} ${check.args.join(" ")}) in ${check.seconds} s`);
}
const interrupted = checked.find((check) => check.signal !== null);
if (interrupted !== undefined) fail(`${interrupted.name} stopped by ${interrupted.signal}`, interrupted.code);
const failedChecks = checked.filter((check) => check.code !== 0);
if (failedChecks.length > 0) fail(`${failedChecks.map((check) => check.name).join(", ")} failed`, failedChecks[0].code);

console.log("› vitest (unit + integration on real Kafka and Postgres)");
mkdirSync(`${repoRoot}/.tributary`, { recursive: true });
const report = `${repoRoot}/.tributary/vitest-report.json`;
rmSync(report, { force: true });
// Signals reach vitest (whose global setup stops the Kafka broker it started) instead of orphaning it.
const vitest = await spawnForwardingSignals(process.execPath, [
  `${repoRoot}/node_modules/vitest/vitest.mjs`,
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
]);
if (vitest.signal !== null) fail(`tests stopped by ${vitest.signal}`, vitest.code);
let counts;
try {
  counts = JSON.parse(readFileSync(report, "utf8"));
} catch {
  fail(`vitest wrote no report (exit code ${vitest.code}); see its output above`);
}
const seconds = Math.round((Date.now() - started) / 1000);
// The plain closing line CI reads: "N passed, N failed, N skipped".
console.log(`tests: ${counts.numPassedTests} passed, ${counts.numFailedTests} failed, ${counts.numPendingTests + counts.numTodoTests} skipped`);
if (vitest.code !== 0 || counts.numFailedTests > 0 || counts.numPassedTests === 0) {
  fail(`tests failed after ${seconds} s`, vitest.code || 1);
}
console.log(`✓ all checks passed in ${seconds} s`);
