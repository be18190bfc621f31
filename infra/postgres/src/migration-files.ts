import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";

/** One folder of a Prisma `migrations/` directory, read from disk. */
export interface MigrationFile {
  /** The folder name, e.g. `20261124000000_init`; Prisma orders migrations by it. */
  readonly name: string;
  /** The SQL Prisma wrote (or a person wrote) in `migration.sql`. */
  readonly sql: string;
  /** Lower-case hex SHA-256 of `migration.sql`, the checksum Prisma stores. */
  readonly checksum: string;
}

/**
 * Reads a Prisma migrations folder in the order Prisma applies it (lexical by folder name).
 * Only folders with a `migration.sql` count; `migration_lock.toml` and stray files are ignored,
 * as Prisma ignores them.
 */
export async function readMigrationFiles(migrationsDir: string): Promise<MigrationFile[]> {
  const entries = (await readdir(migrationsDir)).sort();
  const migrations: MigrationFile[] = [];
  for (const name of entries) {
    const folder = join(migrationsDir, name);
    if (!(await stat(folder)).isDirectory()) continue;
    const sqlPath = join(folder, "migration.sql");
    const bytes = await readFile(sqlPath).catch(() => undefined);
    if (bytes === undefined) continue;
    migrations.push({
      name,
      sql: bytes.toString("utf8"),
      checksum: createHash("sha256").update(bytes).digest("hex"),
    });
  }
  return migrations;
}
