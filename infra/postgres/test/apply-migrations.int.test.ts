import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyMigrations,
  databaseUrl,
  dropDatabase,
  ensureDatabase,
  postgresServerUrl,
} from "@tributary/local-postgres";

const serverUrl = postgresServerUrl(process.env);
const database = `tributary_migrations_selftest_test_${process.pid}`;
const url = databaseUrl(serverUrl, database);

async function writeMigration(dir: string, name: string, sql: string): Promise<void> {
  await mkdir(join(dir, name), { recursive: true });
  await writeFile(join(dir, name, "migration.sql"), sql);
}

async function query<T extends pg.QueryResultRow>(text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

describe("applyMigrations on a real Postgres", () => {
  let migrationsDir: string;

  beforeAll(async () => {
    await dropDatabase(serverUrl, database);
    expect(await ensureDatabase(serverUrl, database)).toBe(true);
    expect(await ensureDatabase(serverUrl, database)).toBe(false);
    migrationsDir = await mkdtemp(join(tmpdir(), "tributary-migrations-"));
    await writeMigration(migrationsDir, "20261124000000_init", 'CREATE TABLE "thing" ("id" TEXT PRIMARY KEY, "amount_minor" BIGINT NOT NULL);');
    await writeMigration(migrationsDir, "20261124000100_add_currency", 'ALTER TABLE "thing" ADD COLUMN "currency" CHAR(3) NOT NULL DEFAULT \'CNY\';');
  });

  afterAll(async () => {
    await dropDatabase(serverUrl, database);
  });

  it("applies every migration once, and a second run applies nothing", async () => {
    const first = await applyMigrations(url, migrationsDir);
    expect(first.applied).toEqual(["20261124000000_init", "20261124000100_add_currency"]);
    const second = await applyMigrations(url, migrationsDir);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(first.applied);
    const rows = await query<{ migration_name: string; checksum: string }>(
      'SELECT migration_name, checksum FROM "_prisma_migrations" ORDER BY migration_name',
    );
    expect(rows.map((row) => row.migration_name)).toEqual(first.applied);
    expect(rows[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    const columns = await query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'thing' ORDER BY column_name",
    );
    expect(columns.map((c) => c.column_name)).toEqual(["amount_minor", "currency", "id"]);
  });

  it("rolls a failing migration back whole and records nothing for it", async () => {
    await writeMigration(
      migrationsDir,
      "20261124000200_broken",
      'CREATE TABLE "half_done" ("id" TEXT);\nALTER TABLE "no_such_table" ADD COLUMN "x" INT;',
    );
    await expect(applyMigrations(url, migrationsDir)).rejects.toMatchObject({ code: "migration_failed" });
    const leftovers = await query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'");
    expect(leftovers).toHaveLength(0);
    const recorded = await query("SELECT 1 FROM \"_prisma_migrations\" WHERE migration_name = '20261124000200_broken'");
    expect(recorded).toHaveLength(0);
    await writeMigration(migrationsDir, "20261124000200_broken", 'CREATE TABLE "half_done" ("id" TEXT);');
    expect((await applyMigrations(url, migrationsDir)).applied).toEqual(["20261124000200_broken"]);
  });

  it("refuses an applied migration whose file was edited", async () => {
    await writeMigration(migrationsDir, "20261124000000_init", 'CREATE TABLE "thing" ("id" TEXT PRIMARY KEY);');
    await expect(applyMigrations(url, migrationsDir)).rejects.toMatchObject({ code: "migration_modified" });
  });
});
