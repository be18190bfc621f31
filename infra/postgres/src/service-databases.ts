import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Tables a shared package owns and every service that uses it gets in its own database, from one
 * migration folder (e.g. the events package's outbox and inbox). A fix to those tables is one new
 * migration in that folder, applied to every service database by {@link migrateAll}.
 */
export interface SharedTables {
  /** The package that owns them, e.g. `@tributary/events`; the `source` in `_shared_migrations`. */
  readonly packageName: string;
  /** Absolute path of its migrations folder (Prisma's layout). */
  readonly migrationsDir: string;
  /** Absolute path of the Prisma schema of those tables (drift-checked in every service database). */
  readonly schemaPath: string;
}

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
  /** The shared packages' tables this database also carries, in the order declared. */
  readonly sharedTables: readonly SharedTables[];
}

interface TributaryManifest {
  name?: string;
  tributary?: {
    database?: string;
    testOnly?: boolean;
    /** Package names whose shared tables this database carries. */
    usesSharedTables?: string[];
    /** Declared by a package that owns shared tables: paths relative to the package. */
    sharedTables?: { migrations: string; schema: string };
  };
}

const workspaceRoots = ["packages", "infra", "services"] as const;

/**
 * Finds every workspace that declares `"tributary": { "database": "…" }` in its package.json
 * (`"testOnly": true` marks a database only its tests use; `"usesSharedTables": ["@tributary/events"]`
 * adds a shared package's tables, which that package declares with
 * `"sharedTables": { "migrations": "…", "schema": "…" }`).
 * Its Prisma schema lives in `prisma/schema.prisma` and its migrations in `prisma/migrations/`,
 * as Prisma lays them out. A database that names an unknown shared package is an error.
 */
export async function findServiceDatabases(repoRoot: string): Promise<ServiceDatabase[]> {
  const manifests: { dir: string; manifest: TributaryManifest }[] = [];
  for (const root of workspaceRoots) {
    const names = await readdir(join(repoRoot, root)).catch(() => [] as string[]);
    for (const name of names.sort()) {
      const dir = join(repoRoot, root, name);
      const text = await readFile(join(dir, "package.json"), "utf8").catch(() => undefined);
      if (text === undefined) continue;
      const manifest = JSON.parse(text) as TributaryManifest;
      manifest.name ??= name;
      manifests.push({ dir, manifest });
    }
  }
  const shared = new Map<string, SharedTables>();
  for (const { dir, manifest } of manifests) {
    const declared = manifest.tributary?.sharedTables;
    if (declared === undefined || manifest.name === undefined) continue;
    shared.set(manifest.name, {
      packageName: manifest.name,
      migrationsDir: join(dir, declared.migrations),
      schemaPath: join(dir, declared.schema),
    });
  }
  const found: ServiceDatabase[] = [];
  for (const { dir, manifest } of manifests) {
    const database = manifest.tributary?.database;
    if (database === undefined) continue;
    const sharedTables = (manifest.tributary?.usesSharedTables ?? []).map((packageName) => {
      const tables = shared.get(packageName);
      if (tables === undefined) {
        throw new Error(
          `${manifest.name ?? dir} declares usesSharedTables "${packageName}", but no workspace declares "tributary": { "sharedTables": … } under that name`,
        );
      }
      return tables;
    });
    found.push({
      packageName: manifest.name ?? dir,
      database,
      migrationsDir: join(dir, "prisma", "migrations"),
      schemaPath: join(dir, "prisma", "schema.prisma"),
      testOnly: manifest.tributary?.testOnly === true,
      sharedTables,
    });
  }
  return found;
}
