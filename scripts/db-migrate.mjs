// `npm run db:migrate`: creates every service database on POSTGRES_URL (default
// 127.0.0.1:5432, user postgres) and applies its Prisma migrations; idempotent.
import { ensureInstalled, run } from "./ensure-installed.mjs";

ensureInstalled();
run("npx", ["tsx", "--conditions=source", "infra/postgres/src/cli.ts", "migrate", ...process.argv.slice(2)]);
