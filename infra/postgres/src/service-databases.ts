import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** A workspace that owns a database, as declared in its package.json. */
export interface ServiceDatabase {
  /** The workspace's package name, e.g. `@tributary/order`. */
  readonly packageName: string;
  /** The database name, e.g. `tributary_order`. */
  readonly database: string;
  /** Absolute path of its Prisma `migrations/` folder. */
  readonly migrationsDir: string;
  /** Absolute path of its `schema.prisma`. */
  readonly schemaPath: string;
  /**
   * A database only the workspace's own tests use (e.g. the events package's outbox/inbox
   * fixture): created for test runs, never for the development stack.
   */
  readonly testOnly: boolean;
}

const workspaceRoots = ["packages", "infra", "services"] as const;

/**
 * Finds every workspace that declares `"tributary": { "database": "…" }` in its package.json
 * (`"testOnly": true` marks a database only its tests use).
 * Its Prisma schema lives in `prisma/schema.prisma` and its migrations in `prisma/migrations/`,
 * as Prisma lays them out.
 */
export async function findServiceDatabases(repoRoot: string): Promise<ServiceDatabase[]> {
  const found: ServiceDatabase[] = [];
  for (const root of workspaceRoots) {
    const names = await readdir(join(repoRoot, root)).catch(() => [] as string[]);
    for (const name of names.sort()) {
      const dir = join(repoRoot, root, name);
      const manifest = await readFile(join(dir, "package.json"), "utf8").catch(() => undefined);
      if (manifest === undefined) continue;
      const parsed = JSON.parse(manifest) as { name?: string; tributary?: { database?: string; testOnly?: boolean } };
      const database = parsed.tributary?.database;
      if (database === undefined) continue;
      found.push({
        packageName: parsed.name ?? name,
        database,
        migrationsDir: join(dir, "prisma", "migrations"),
        schemaPath: join(dir, "prisma", "schema.prisma"),
        testOnly: parsed.tributary?.testOnly === true,
      });
    }
  }
  return found;
}
