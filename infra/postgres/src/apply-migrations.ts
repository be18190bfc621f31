import pg from "pg";
import { readMigrationFiles } from "./migration-files.js";

/**
 * Prisma's own bookkeeping table, created with the same DDL `prisma migrate deploy` uses, so a
 * machine that does have Prisma's native schema engine sees exactly the state this applier left.
 */
const createPrismaMigrationsTable = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/**
 * The history of migrations that come from a shared package (e.g. the events package's outbox and
 * inbox) rather than from the service's own folder. It lives beside `_prisma_migrations`, not in it,
 * so that Prisma's own `migrate status` on the service's folder never sees migrations it does not
 * know; the shape is Prisma's plus the `source` package name.
 */
const createSharedMigrationsTable = `
CREATE TABLE IF NOT EXISTS "_shared_migrations" (
    "source"                VARCHAR(255) NOT NULL,
    "migration_name"        VARCHAR(255) NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "finished_at"           TIMESTAMPTZ,
    PRIMARY KEY ("source", "migration_name")
)`;

/** Where {@link applyMigrations} records what it applied. */
export type MigrationHistory =
  /** The service's own folder: Prisma's `_prisma_migrations`, exactly as `prisma migrate deploy` keeps it. */
  | { readonly kind: "prisma" }
  /** A shared package's folder (its package name as `source`), in `_shared_migrations`. */
  | { readonly kind: "shared"; readonly source: string };

/** Any key for `pg_advisory_xact_lock`; two appliers on one database take turns. */
const migrationLockKey = 72_707_369;

/** What one call of {@link applyMigrations} did. */
export interface MigrationReport {
  /** Migrations applied by this call, in order. */
  readonly applied: string[];
  /** Migrations that were already applied with the same checksum. */
  readonly alreadyApplied: string[];
}

/** A migration history that cannot be applied safely; the message says what to do. */
export class MigrationError extends Error {
  constructor(
    readonly code: "migration_modified" | "migration_failed_previously" | "migration_failed",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "MigrationError";
  }
}

/**
 * Applies a Prisma `migrations/` folder to one database, idempotently, the way
 * `prisma migrate deploy` does, but with `pg` alone: Prisma's native schema engine cannot be
 * downloaded on our machines (see infra/postgres/README.md). Each migration runs in its own
 * transaction together with its `_prisma_migrations` row, so a failed migration leaves nothing
 * behind; an applied migration whose file has since changed is refused, never re-run.
 */
export async function applyMigrations(
  databaseUrl: string,
  migrationsDir: string,
  history: MigrationHistory = { kind: "prisma" },
): Promise<MigrationReport> {
  const migrations = await readMigrationFiles(migrationsDir);
  const ledger = historyStatements(history);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [migrationLockKey]);
    await client.query(ledger.create);
    await client.query("COMMIT");

    const applied: string[] = [];
    const alreadyApplied: string[] = [];
    for (const migration of migrations) {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock($1)", [migrationLockKey]);
      const existing = await client.query<{ checksum: string; finished_at: Date | null }>(ledger.select, [
        ...ledger.scope,
        migration.name,
      ]);
      const row = existing.rows[0];
      if (row !== undefined) {
        await client.query("ROLLBACK");
        if (row.finished_at === null) {
          throw new MigrationError(
            "migration_failed_previously",
            `${migration.name} is recorded as started but never finished in ${describe(databaseUrl)}; ` +
              `fix the database by hand, then ${ledger.markRolledBack(migration.name)}`,
          );
        }
        if (row.checksum !== migration.checksum) {
          throw new MigrationError(
            "migration_modified",
            `${migration.name} was changed after it was applied to ${describe(databaseUrl)}; ` +
              "never edit an applied migration: revert the file and add a new migration instead",
          );
        }
        alreadyApplied.push(migration.name);
        continue;
      }
      try {
        await client.query(migration.sql);
        await client.query(ledger.insert, [...ledger.scope, migration.checksum, migration.name]);
        await client.query("COMMIT");
      } catch (cause) {
        await client.query("ROLLBACK").catch(() => undefined);
        const reason = cause instanceof Error ? cause.message : String(cause);
        throw new MigrationError(
          "migration_failed",
          `${migration.name} failed on ${describe(databaseUrl)} and was rolled back: ${reason}`,
          { cause },
        );
      }
      applied.push(migration.name);
    }
    return { applied, alreadyApplied };
  } finally {
    await client.end();
  }
}

interface HistoryStatements {
  readonly create: string;
  /** Parameters that come before the migration's own ($1 = source for shared histories). */
  readonly scope: readonly string[];
  readonly select: string;
  readonly insert: string;
  markRolledBack(name: string): string;
}

function historyStatements(history: MigrationHistory): HistoryStatements {
  switch (history.kind) {
    case "prisma":
      return {
        create: createPrismaMigrationsTable,
        scope: [],
        select: `SELECT checksum, finished_at FROM "_prisma_migrations" WHERE migration_name = $1 AND rolled_back_at IS NULL`,
        insert: `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
                 VALUES (gen_random_uuid()::text, $1, $2, now(), now(), 1)`,
        markRolledBack: (name) =>
          `mark it rolled back (UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '${name}')`,
      };
    case "shared":
      return {
        create: createSharedMigrationsTable,
        scope: [history.source],
        select: `SELECT checksum, finished_at FROM "_shared_migrations" WHERE source = $1 AND migration_name = $2`,
        insert: `INSERT INTO "_shared_migrations" (source, checksum, migration_name, started_at, finished_at)
                 VALUES ($1, $2, $3, now(), now())`,
        markRolledBack: (name) =>
          `delete its history row (DELETE FROM "_shared_migrations" WHERE source = '${history.source}' AND migration_name = '${name}')`,
      };
  }
}

function describe(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  return `database ${url.pathname.slice(1)} on ${url.host}`;
}
