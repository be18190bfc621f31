import { defineConfig } from "vitest/config";

/**
 * One vitest run for the whole monorepo, so one real Kafka broker and one Postgres set-up
 * (started in the testkit's global setup) serve every integration test. Workspace packages
 * resolve to their TypeScript sources through the `source` export condition, so tests do not
 * wait for a build.
 */
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"], externalConditions: ["source"] } },
  test: {
    include: ["{packages,infra,services}/*/{src,test}/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
