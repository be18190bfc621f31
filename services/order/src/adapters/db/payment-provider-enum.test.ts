import { readdirSync, readFileSync } from "node:fs";
import { PROVIDER_IDS } from "@tributary/contracts";
import { describe, expect, it } from "vitest";

// The order database stores a provider as the `payment_provider` enum, whose values must be the
// contracts' provider ids: pg-order-store passes them through unconverted.
const prismaDir = new URL("../../../prisma/", import.meta.url);

function schemaEnumValues(): string[] {
  const schema = readFileSync(new URL("schema.prisma", prismaDir), "utf8");
  const block = /enum\s+\w+\s*\{([^}]*@@map\("payment_provider"\)[^}]*)\}/.exec(schema)?.[1];
  if (block === undefined) throw new Error('schema.prisma has no enum mapped to "payment_provider"');
  return block
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("@@") && !line.startsWith("//"));
}

function migratedEnumValues(): string[] {
  const migrations = new URL("migrations/", prismaDir);
  const values: string[] = [];
  for (const name of readdirSync(migrations).sort()) {
    if (name.endsWith(".toml")) continue;
    const sql = readFileSync(new URL(`${name}/migration.sql`, migrations), "utf8");
    const created = /CREATE TYPE "payment_provider" AS ENUM \(([^)]*)\)/.exec(sql)?.[1];
    if (created !== undefined) values.push(...[...created.matchAll(/'([^']*)'/g)].map((m) => m[1] ?? ""));
    for (const added of sql.matchAll(/ALTER TYPE "payment_provider" ADD VALUE (?:IF NOT EXISTS )?'([^']*)'/g)) {
      values.push(added[1] ?? "");
    }
  }
  return values;
}

describe("the payment_provider database enum", () => {
  it("holds exactly the contracts' provider ids in schema.prisma", () => {
    expect(schemaEnumValues()).toEqual([...PROVIDER_IDS]);
  });

  it("holds exactly the contracts' provider ids after every migration", () => {
    expect(migratedEnumValues().sort()).toEqual([...PROVIDER_IDS].sort());
  });
});
