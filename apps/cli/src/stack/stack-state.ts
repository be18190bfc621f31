import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** What a running stack tells `tributary stack status` and `stack down` about itself. */
export interface StackState {
  /** The process that runs the stack (signal it to stop everything). */
  readonly pid: number;
  readonly startedAt: string;
  readonly kafka: { readonly brokers: readonly string[]; readonly local: boolean };
  readonly postgres: { readonly serverUrl: string; readonly databases: readonly string[] };
  readonly sandboxUrl: string;
  /** The operator's bearer token of every service's API (local only; the file is mode 0600). */
  readonly operatorToken: string;
  readonly services: readonly StackServiceState[];
}

export interface StackServiceState {
  readonly name: string;
  readonly pid: number;
  /** `host:port` of its gRPC API, when it has one. */
  readonly grpcAddress?: string;
  readonly healthAddress: string;
  readonly logFile: string;
}

/**
 * Where the stack's state lives: `.tributary/stack<suffix>.json` in the repository, so a stack on
 * its own databases (TRIBUTARY_DATABASE_SUFFIX, as the stack's tests run it) never overwrites
 * the development stack's file.
 */
export function stackStatePath(repoRoot: string, databaseSuffix: string): string {
  return join(repoRoot, ".tributary", `stack${databaseSuffix}.json`);
}

export function writeStackState(path: string, state: StackState): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** The state file's content, or undefined when no stack wrote one (or it was removed on stop). */
export function readStackState(path: string): StackState | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  return JSON.parse(text) as StackState;
}

export function removeStackState(path: string): void {
  rmSync(path, { force: true });
}
