import { defineConfig } from "vitest/config";

/**
 * One vitest run for the whole monorepo, in two projects:
 * - `unit`: `src/**\/*.test.ts` beside the code; pure, no infrastructure.
 * - `integration`: `test/**\/*.int.test.ts`; the testkit's global setup starts one real Kafka
 *   broker and prepares the real Postgres databases for all of them.
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
          include: ["{packages,infra,services,apps}/*/src/**/*.test.ts"],
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
          testTimeout: 60_000,
          hookTimeout: 180_000,
          // Integration files share one broker and one database server on a 2-core machine.
          fileParallelism: false,
        },
      },
    ],
  },
});
