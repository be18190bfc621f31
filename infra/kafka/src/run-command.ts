import { spawn } from "node:child_process";

/** The outcome of a short-lived command: either it could not start, or it ran and exited. */
export type CommandOutcome =
  | { readonly kind: "not_found" }
  | { readonly kind: "exited"; readonly exitCode: number | null; readonly output: string };

/**
 * Runs a short command (java -version, mvn, StorageTool) to completion and keeps its combined
 * output. A missing binary is a value, not a throw, so each caller can turn it into its own
 * error code (`java_not_found`, `maven_not_found`).
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { readonly cwd?: string } = {},
): Promise<CommandOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "EACCES") resolve({ kind: "not_found" });
      else reject(error);
    });
    child.on("close", (exitCode) => {
      resolve({ kind: "exited", exitCode, output: Buffer.concat(chunks).toString("utf8") });
    });
  });
}

/** The last `count` non-empty lines of a command's or log's text, for error details. */
export function tailLines(text: string, count: number): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0)
    .slice(-count);
}
