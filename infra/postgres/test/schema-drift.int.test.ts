import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyMigrations,
  checkSchemaDrift,
  databaseUrl,
  dropDatabase,
  ensureDatabase,
  findServiceDatabases,
} from "@tributary/local-postgres";
import { testDatabaseUrl, testPostgresServerUrl } from "@tributary/testkit/vitest";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");

describe("every service's migrations implement its schema.prisma", async () => {
  const services = await findServiceDatabases(repoRoot);

  it("finds at least one service database", () => {
    expect(services.length).toBeGreaterThan(0);
  });

  it.each(services.map((service) => [service.packageName, service] as const))("%s has no drift", async (_name, service) => {
    const schemas = [service.schemaPath, ...service.sharedTables.map((tables) => tables.schemaPath)];
    expect(await checkSchemaDrift(testDatabaseUrl(service.database), schemas)).toEqual([]);
  });
});

describe("checkSchemaDrift", () => {
  const database = `tributary_drift_selftest_test_${process.pid}`;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    const serverUrl = testPostgresServerUrl();
    url = databaseUrl(serverUrl, database);
    await dropDatabase(serverUrl, database);
    await ensureDatabase(serverUrl, database);
    dir = await mkdtemp(join(tmpdir(), "tributary-drift-"));
    await mkdir(join(dir, "migrations", "20261124000000_init"), { recursive: true });
    await writeFile(
      join(dir, "migrations", "20261124000000_init", "migration.sql"),
      'CREATE TABLE "ledger_entry" ("id" TEXT PRIMARY KEY, "amount_minor" INTEGER NOT NULL, "memo" TEXT NOT NULL, "legacy" TEXT);\nCREATE TABLE "orphan" ("id" TEXT);',
    );
    await applyMigrations(url, join(dir, "migrations"));
  });

  afterAll(async () => {
    await dropDatabase(testPostgresServerUrl(), database);
  });

  it("reports every disagreement between schema.prisma and the migrated tables", async () => {
    const schemaPath = join(dir, "schema.prisma");
    await writeFile(
      schemaPath,
      `datasource db {\n  provider = "postgresql"\n}\n` +
        `model LedgerEntry {\n  id String @id\n  amountMinor BigInt @map("amount_minor")\n  memo String?\n  currency String\n  @@map("ledger_entry")\n}\n` +
        `model Missing {\n  id String @id\n  @@map("missing")\n}\n`,
    );
    const problems = await checkSchemaDrift(url, schemaPath);
    expect(problems.map((p) => `${p.code} ${p.where}`).sort()).toEqual([
      "missing_column ledger_entry.currency",
      "missing_table missing",
      "nullability_differs ledger_entry.memo",
      "type_differs ledger_entry.amount_minor",
      "unexpected_column ledger_entry.legacy",
      "unexpected_table orphan",
    ]);
  });
});
