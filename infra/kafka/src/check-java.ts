import { LocalKafkaError } from "./local-kafka-error.js";
import { runCommand } from "./run-command.js";

/** Kafka 4.x brokers need Java 17; 3.9 runs on it too, so one floor serves every line. */
export const MIN_JAVA_MAJOR = 17;

/**
 * The java binary the launcher uses when the caller names none: `$JAVA_HOME/bin/java` when
 * JAVA_HOME is set, else `java` from PATH.
 */
export function defaultJavaPath(env: NodeJS.ProcessEnv = process.env): string {
  const javaHome = env["JAVA_HOME"];
  return javaHome !== undefined && javaHome !== "" ? `${javaHome}/bin/java` : "java";
}

/**
 * Reads the major version out of `java -version` output: `version "17.0.15"` gives 17 and the
 * old scheme `version "1.8.0_392"` gives 8. Undefined when no version string is present.
 */
export function parseJavaMajor(output: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(output);
  if (match === null || match[1] === undefined) return undefined;
  const first = Number.parseInt(match[1], 10);
  if (first === 1 && match[2] !== undefined) return Number.parseInt(match[2], 10);
  return first;
}

const checked = new Map<string, Promise<number>>();

/**
 * Fails fast, with what to install, before any jar download or broker start: a missing java
 * gives `java_not_found`, one older than 17 gives `java_too_old`. Resolves to the major version.
 * The answer is cached per binary path for the life of the process.
 */
export function checkJava(javaPath: string): Promise<number> {
  const cached = checked.get(javaPath);
  if (cached !== undefined) return cached;
  const pending = probeJava(javaPath);
  checked.set(javaPath, pending);
  pending.catch(() => checked.delete(javaPath));
  return pending;
}

async function probeJava(javaPath: string): Promise<number> {
  const outcome = await runCommand(javaPath, ["-version"]);
  if (outcome.kind === "not_found") {
    throw new LocalKafkaError(
      "java_not_found",
      `Java ${MIN_JAVA_MAJOR}+ is needed for the local Kafka broker but "${javaPath}" was not found: apt-get install openjdk-17-jre-headless (or set JAVA_HOME), or set KAFKA_BROKERS to an existing cluster`,
    );
  }
  const major = parseJavaMajor(outcome.output);
  if (outcome.exitCode !== 0 || major === undefined) {
    throw new LocalKafkaError(
      "java_not_found",
      `"${javaPath} -version" did not report a Java version (exit ${String(outcome.exitCode)}): install openjdk-17-jre-headless, or set KAFKA_BROKERS to an existing cluster`,
      outcome.output,
    );
  }
  if (major < MIN_JAVA_MAJOR) {
    throw new LocalKafkaError(
      "java_too_old",
      `Java ${major} at "${javaPath}" is too old for the local Kafka broker, which needs Java ${MIN_JAVA_MAJOR}+: apt-get install openjdk-17-jre-headless and set JAVA_HOME, or set KAFKA_BROKERS to an existing cluster`,
    );
  }
  return major;
}
