import { defineConfig } from "vitest/config";
import { integrationWorkers } from "./packages/testkit/src/integration-workers.js";

/**
 * One vitest run for the whole monorepo, in two projects:
 * - `unit`: `src/**\/*.test.ts` beside the code; pure, no infrastructure.
 * - `integration`: `test/**\/*.int.test.ts`, after the unit project (`sequence.groupOrder`), files
 *   side by side on `TRIBUTARY_TEST_WORKERS` workers (default 2); the testkit's global setup starts a
 *   real Kafka broker and migrates a set of real Postgres databases for each worker, so files that
 *   run at the same time share neither (packages/testkit/src/integration-workers.ts).
 * Workspace packages resolve to their TypeScript sources through the `source` export condition,
 * so tests never wait for a build.
 */
const sourceCondition = {
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"], externalConditions: ["source"] } },
  environments: {
    ssr: { resolve: { conditions: ["source"], externalConditions: ["source"] } },
    __vitest__: { resolve: { conditions: ["source"], externalConditions: ["source"] } },
  },
};

export default defineConfig({
  ...sourceCondition,
  test: {
    projects: [
      {
        ...sourceCondition,
        test: {
          name: "unit",
          include: ["{packages,infra,services,apps}/*/src/**/*.test.ts", "scripts/test/**/*.unit.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
        },
      },
      {
        ...sourceCondition,
        test: {
          name: "integration",
          include: ["{packages,infra,services,apps}/*/test/**/*.int.test.ts", "scripts/test/**/*.int.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          globalSetup: ["packages/testkit/src/vitest-global-setup.ts"],
          // Each file's process locks a worker slot before it runs: its broker and databases.
          setupFiles: ["packages/testkit/src/vitest-slot-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          maxWorkers: integrationWorkers(),
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
