// Generates Prisma Client (src/gen/prisma, git-ignored) from prisma/schema.prisma: the package's
// `generate` script, so `turbo run generate` — what every entry point runs first — makes it on a
// fresh clone. Plain Node, no dependencies.
//
// The Prisma CLI insists on locating its schema engine before any command, and downloads it when
// it is missing; these machines reach no binary host. Generation itself never runs the engine
// (checked with prisma 7.10.1), so when PRISMA_SCHEMA_ENGINE_BINARY is unset it is pointed at this
// very file: it exists, which is all the CLI checks. Migrations do not go through the CLI here —
// infra/postgres applies prisma/migrations itself.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1" };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);

// The CLI wherever npm put it (hoisted to the root node_modules or not), from its own package.json.
const cli = join(dirname(createRequire(import.meta.url).resolve("prisma/package.json")), "build", "index.js");
const child = spawn(process.execPath, [cli, "generate", "--schema", "prisma/schema.prisma"], {
  cwd: packageRoot,
  env,
  stdio: "inherit",
});
child.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
