import type { MigrationReport } from "./apply-migrations.js";
import { databaseUrl, dropDatabase, ensureDatabase } from "./ensure-database.js";
import { migrateServiceDatabase } from "./migrate-service-database.js";
import { findServiceDatabases, type ServiceDatabase } from "./service-databases.js";

/** Options of {@link migrateAll}. */
export interface MigrateAllOptions {
  /** The repository root to scan for service databases. */
  readonly repoRoot: string;
  /** Admin URL of the Postgres server, e.g. `postgresql://postgres@127.0.0.1:5432/postgres`. */
  readonly serverUrl: string;
  /** Appended to every database name, e.g. `_test` so tests never touch development data. */
  readonly databaseSuffix?: string;
  /** Drop each database first: for test runs that must start from an empty schema. */
  readonly recreate?: boolean;
  /** Also the databases only tests use (see {@link ServiceDatabase.testOnly}); off by default. */
  readonly includeTestOnly?: boolean;
}

/** What {@link migrateAll} did for one database. */
export interface DatabaseMigrated extends MigrationReport {
  readonly service: ServiceDatabase;
  readonly database: string;
  readonly url: string;
  readonly created: boolean;
}

/**
 * Creates every service's database (one per service, as DESIGN.md asks) and applies its Prisma
 * migrations and the shared tables it uses. Idempotent: a second run creates nothing and applies nothing.
 */
export async function migrateAll(options: MigrateAllOptions): Promise<DatabaseMigrated[]> {
  const services = (await findServiceDatabases(options.repoRoot)).filter(
    (service) => options.includeTestOnly === true || !service.testOnly,
  );
  const results: DatabaseMigrated[] = [];
  for (const service of services) {
    const database = `${service.database}${options.databaseSuffix ?? ""}`;
    if (options.recreate === true) await dropDatabase(options.serverUrl, database);
    const created = await ensureDatabase(options.serverUrl, database);
    const url = databaseUrl(options.serverUrl, database);
    const report = await migrateServiceDatabase(url, service);
    results.push({ service, database, url, created, ...report });
  }
  return results;
}
