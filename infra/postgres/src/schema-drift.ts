import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import pg from "pg";

/** One way the migrated database and `schema.prisma` disagree. */
export interface DriftProblem {
  readonly code: "missing_table" | "unexpected_table" | "missing_column" | "unexpected_column" | "nullability_differs" | "type_differs";
  /** `table` or `table.column`. */
  readonly where: string;
  readonly detail: string;
}

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: "scalar" | "object" | "enum" | "unsupported";
  isList: boolean;
  isRequired: boolean;
  type: string;
}

interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}

interface ColumnRow {
  table_name: string;
  column_name: string;
  is_nullable: "YES" | "NO";
  data_type: string;
}

/**
 * Postgres `information_schema.columns.data_type` values each Prisma scalar type may map to
 * (with or without a `@db.*` native type attribute).
 */
const compatibleTypes: Readonly<Record<string, readonly string[]>> = {
  String: ["text", "character varying", "character", "uuid", "citext", "inet", "xml"],
  Int: ["integer", "smallint"],
  BigInt: ["bigint"],
  Float: ["double precision", "real"],
  Decimal: ["numeric", "money"],
  Boolean: ["boolean"],
  DateTime: ["timestamp with time zone", "timestamp without time zone", "date", "time without time zone", "time with time zone"],
  Json: ["jsonb", "json"],
  Bytes: ["bytea"],
};

/**
 * Compares a migrated database with the Prisma schema(s) it is supposed to implement: every model
 * has its table, every scalar field its column with a compatible type and the same nullability,
 * and no table or column exists that the schema does not know. Prisma's `migrate diff` would do
 * this with the native schema engine, which cannot be downloaded here; the schema is read with
 * Prisma's own parser (`@prisma/prisma-schema-wasm`), so the schema side is exactly Prisma's.
 */
export async function checkSchemaDrift(
  databaseUrl: string,
  schemaPaths: string | readonly string[],
): Promise<DriftProblem[]> {
  // A service database carries its own schema plus the shared tables it uses (each its own file).
  const models = (await Promise.all([schemaPaths].flat().map((path) => readPrismaModels(path)))).flat();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let columns: ColumnRow[];
  try {
    const result = await client.query<ColumnRow>(
      `SELECT c.table_name, c.column_name, c.is_nullable, c.data_type
         FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.table_name NOT IN ('_prisma_migrations', '_shared_migrations')`,
    );
    columns = result.rows;
  } finally {
    await client.end();
  }

  const byTable = new Map<string, Map<string, ColumnRow>>();
  for (const column of columns) {
    const table = byTable.get(column.table_name) ?? new Map<string, ColumnRow>();
    table.set(column.column_name, column);
    byTable.set(column.table_name, table);
  }

  const problems: DriftProblem[] = [];
  const modelTables = new Set<string>();
  for (const model of models) {
    const tableName = model.dbName ?? model.name;
    modelTables.add(tableName);
    const table = byTable.get(tableName);
    if (table === undefined) {
      problems.push({ code: "missing_table", where: tableName, detail: `model ${model.name} has no table` });
      continue;
    }
    const fieldColumns = new Set<string>();
    for (const field of model.fields) {
      if (field.kind === "object") continue;
      const columnName = field.dbName ?? field.name;
      fieldColumns.add(columnName);
      const column = table.get(columnName);
      const where = `${tableName}.${columnName}`;
      if (column === undefined) {
        problems.push({ code: "missing_column", where, detail: `field ${model.name}.${field.name} has no column` });
        continue;
      }
      const nullable = column.is_nullable === "YES";
      if (nullable === (field.isRequired && !field.isList) && !field.isList) {
        problems.push({
          code: "nullability_differs",
          where,
          detail: `schema says ${field.isRequired ? "required" : "optional"}, column is ${nullable ? "NULL" : "NOT NULL"}`,
        });
      }
      const expected = field.isList ? ["ARRAY"] : field.kind === "enum" ? ["USER-DEFINED"] : compatibleTypes[field.type];
      if (expected !== undefined && !expected.includes(column.data_type)) {
        problems.push({ code: "type_differs", where, detail: `schema type ${field.type}, column type ${column.data_type}` });
      }
    }
    for (const columnName of table.keys()) {
      if (!fieldColumns.has(columnName)) {
        problems.push({ code: "unexpected_column", where: `${tableName}.${columnName}`, detail: "not in schema.prisma" });
      }
    }
  }
  for (const tableName of byTable.keys()) {
    if (!modelTables.has(tableName)) {
      problems.push({ code: "unexpected_table", where: tableName, detail: "no model in schema.prisma" });
    }
  }
  return problems;
}

async function readPrismaModels(schemaPath: string): Promise<DmmfModel[]> {
  const schema = await readFile(schemaPath, "utf8");
  // The wasm build ships as CommonJS.
  const require = createRequire(import.meta.url);
  const prismaSchema = require("@prisma/prisma-schema-wasm") as { get_dmmf(params: string): string };
  const dmmf = JSON.parse(prismaSchema.get_dmmf(JSON.stringify({ prismaSchema: [[schemaPath, schema]] }))) as {
    datamodel: { models: DmmfModel[] };
  };
  return dmmf.datamodel.models;
}
