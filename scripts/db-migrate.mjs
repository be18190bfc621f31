// `npm run db:migrate`: creates every service database on POSTGRES_URL (default
// 127.0.0.1:5432, user postgres) and applies its Prisma migrations and shared tables; idempotent.
import { ensureReady, runTypeScript } from "./ensure-installed.mjs";

await ensureReady();
await runTypeScript("infra/postgres/src/cli.ts", ["migrate", ...process.argv.slice(2)]);
