/**
 * Postgres set-up for Tributary: one database per service, each service's Prisma migrations
 * applied with `pg` (no native schema engine needed).
 */
export { applyMigrations, MigrationError } from "./apply-migrations.js";
export type { MigrationHistory, MigrationReport } from "./apply-migrations.js";
export { migrateServiceDatabase } from "./migrate-service-database.js";
export { databaseUrl, dropDatabase, ensureDatabase } from "./ensure-database.js";
export { readMigrationFiles } from "./migration-files.js";
export type { MigrationFile } from "./migration-files.js";
export { migrateAll } from "./migrate-all.js";
export type { DatabaseMigrated, MigrateAllOptions } from "./migrate-all.js";
export { findServiceDatabases } from "./service-databases.js";
export type { ServiceDatabase, SharedTables } from "./service-databases.js";
export { defaultPostgresServerUrl, postgresServerUrl } from "./server-url.js";
export { checkSchemaDrift } from "./schema-drift.js";
export type { DriftProblem } from "./schema-drift.js";
export { probePostgres } from "./probe-postgres.js";
