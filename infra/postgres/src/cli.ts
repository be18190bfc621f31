/**
 * `npx tsx infra/postgres/src/cli.ts migrate [--suffix _test] [--recreate]`: creates every
 * service database on the server in POSTGRES_URL (default 127.0.0.1:5432, user postgres) and
 * applies its Prisma migrations. Prints one line per database.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { migrateAll } from "./migrate-all.js";
import { postgresServerUrl } from "./server-url.js";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { suffix: { type: "string" }, recreate: { type: "boolean" } },
  });
  if (positionals[0] !== "migrate") {
    throw new Error("usage: cli.ts migrate [--suffix _test] [--recreate]");
  }
  const serverUrl = postgresServerUrl(process.env);
  const results = await migrateAll({
    repoRoot,
    serverUrl,
    // A suffixed run is a test run: it includes the databases only tests use.
    ...(values.suffix === undefined ? {} : { databaseSuffix: values.suffix, includeTestOnly: true }),
    ...(values.recreate === true ? { recreate: true } : {}),
  });
  for (const result of results) {
    console.log(
      `${result.database}: ${result.created ? "created, " : ""}${result.applied.length} applied, ` +
        `${result.alreadyApplied.length} already applied (${result.service.packageName})`,
    );
  }
  if (results.length === 0) console.log("no service declares a database yet");
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  if (/ECONNREFUSED|ENOTFOUND/.test(message)) {
    console.error(`cannot reach Postgres at ${postgresServerUrl(process.env)}: start it, or set POSTGRES_URL`);
  } else {
    console.error(message);
  }
  process.exitCode = 1;
});
