import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { beforeAll, describe, expect, it } from "vitest";

// The house rules in the root eslint.config.mjs, shown to fire on code that breaks them. The
// order service has the monorepo's domain folder, so each snippet is linted as the text of a real
// file there or in its adapters (the type-aware parser only accepts paths its tsconfig includes;
// nothing is written to disk).
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const eslint = new ESLint({ cwd: repoRoot, overrideConfigFile: `${repoRoot}eslint.config.mjs` });

const domainFile = `${repoRoot}services/order/src/domain/order.ts`;
const adapterFile = `${repoRoot}services/order/src/adapters/proto/order-messages.ts`;

// The first lint builds the TypeScript program for the whole order project; on a busy machine that
// takes longer than a test's default timeout, so it is done once here.
beforeAll(async () => {
  await eslint.lintText("export {};\n", { filePath: domainFile });
}, 120_000);

async function ruleIds(code: string, filePath: string, ruleId: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  const messages = result?.messages ?? [];
  // A parse or config failure has no ruleId; it must fail the test, not pass it as "no reports".
  expect(messages.filter((m) => m.ruleId === null)).toEqual([]);
  return messages.filter((m) => m.ruleId === ruleId).map((m) => `${m.line}:${m.ruleId}`);
}

describe("domain/ imports nothing impure", { timeout: 30_000 }, () => {
  const banned = [
    'import { Pool } from "pg";',
    'import { Kafka } from "kafkajs";',
    'import { status } from "@grpc/grpc-js";',
    'import { createHash } from "node:crypto";',
    'import { createHash } from "crypto";',
    'import { trace } from "@opentelemetry/api";',
    'import { PrismaClient } from "@prisma/client";',
    'import { appendToOutbox } from "@tributary/events";',
    'import { PgOrderStore } from "../adapters/db/pg-order-store.js";',
    'import { createOrder } from "../app/create-order.js";',
    'export { main } from "../main.js";',
  ];

  it.each(banned)("reports %s in src/domain/", async (line) => {
    const code = `${line}\nexport const probe = 1;\n`;
    expect(await ruleIds(code, domainFile, "no-restricted-imports")).toEqual(["1:no-restricted-imports"]);
  });

  it("allows pure packages and the domain's own modules", async () => {
    const code = [
      'import type { Money } from "@tributary/money";',
      'import { ok } from "@tributary/result";',
      'import type { Order } from "./order.js";',
      "export const probe = (m: Money, o: Order) => ok([m, o]);",
      "",
    ].join("\n");
    expect(await ruleIds(code, domainFile, "no-restricted-imports")).toEqual([]);
  });

  it("leaves adapters free to import pg", async () => {
    const code = 'import { Pool } from "pg";\nexport const probe = Pool;\n';
    expect(await ruleIds(code, adapterFile, "no-restricted-imports")).toEqual([]);
  });
});

describe("a default does not stand in for the cases of a union", { timeout: 30_000 }, () => {
  const rule = "@typescript-eslint/switch-exhaustiveness-check";
  const status = 'type Status = "paid" | "failed" | "pending";\n';

  it("reports a catch-all default over a union", async () => {
    const code = `${status}export function label(s: Status): string {
  switch (s) {
    case "paid":
      return "paid";
    default:
      return "pending";
  }
}
`;
    expect(await ruleIds(code, domainFile, rule)).toEqual([`3:${rule}`]);
  });

  it("accepts every case listed and a never check", async () => {
    const code = `import { assertNever } from "@tributary/result";
${status}export function label(s: Status): string {
  switch (s) {
    case "paid":
    case "failed":
    case "pending":
      return s;
    default:
      return assertNever(s, "status");
  }
}
`;
    expect(await ruleIds(code, domainFile, rule)).toEqual([]);
  });

  it("accepts a default over an open string, and requires one", async () => {
    const withDefault = `export function code(raw: string): number {
  switch (raw) {
    case "00":
      return 0;
    default:
      return 1;
  }
}
`;
    const withoutDefault = `export function code(raw: string): number {
  switch (raw) {
    case "00":
      return 0;
  }
  return 1;
}
`;
    expect(await ruleIds(withDefault, adapterFile, rule)).toEqual([]);
    expect(await ruleIds(withoutDefault, adapterFile, rule)).toEqual([`2:${rule}`]);
  });
});
