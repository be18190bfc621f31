import { join } from "node:path";

/**
 * Where the local stack's services write their spans and `tributary trace` reads them:
 * `<repo>/.tributary/traces<suffix>` (git-ignored). One place for the stack that sets
 * `TRIBUTARY_TRACES_DIR` for each service process and the command that reads it; the suffix keeps
 * two stacks on one machine (a test run's `_test_<pid>` databases) apart, as the stack's logs are.
 */
export function localTracesDir(repoRoot: string, suffix = ""): string {
  return join(repoRoot, ".tributary", `traces${suffix}`);
}
