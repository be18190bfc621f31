import { applyMigrations, type MigrationReport } from "./apply-migrations.js";
import type { ServiceDatabase } from "./service-databases.js";

/**
 * Applies everything one service database needs: the service's own Prisma migrations (tracked in
 * `_prisma_migrations`), then each shared package's migrations it uses (tracked per package in
 * `_shared_migrations`). The service's folder goes first because the order service's first
 * migration predates the shared folder and created the outbox and inbox itself; the events
 * package's first shared migration adopts those tables (`IF NOT EXISTS`) instead of failing.
 * Report names of shared migrations are prefixed with their package (`@tributary/events/…`).
 */
export async function migrateServiceDatabase(url: string, service: ServiceDatabase): Promise<MigrationReport> {
  const own = await applyMigrations(url, service.migrationsDir);
  const applied = [...own.applied];
  const alreadyApplied = [...own.alreadyApplied];
  for (const tables of service.sharedTables) {
    const report = await applyMigrations(url, tables.migrationsDir, { kind: "shared", source: tables.packageName });
    applied.push(...report.applied.map((name) => `${tables.packageName}/${name}`));
    alreadyApplied.push(...report.alreadyApplied.map((name) => `${tables.packageName}/${name}`));
  }
  return { applied, alreadyApplied };
}
