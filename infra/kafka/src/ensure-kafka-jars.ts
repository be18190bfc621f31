import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_KAFKA_VERSION, kafkaVersionInfo } from "./kafka-versions.js";
import { LocalKafkaError } from "./local-kafka-error.js";
import { runCommand, tailLines } from "./run-command.js";

/** Where downloaded jars live: infra/kafka/.cache/<version>/libs, ignored by git. */
export const KAFKA_CACHE_DIR = fileURLToPath(new URL("../.cache/", import.meta.url));

const POM_PATH = fileURLToPath(new URL("../pom.xml", import.meta.url));
const COMPLETE_MARKER = ".complete";

/** Options for {@link ensureKafkaJars}. */
export type EnsureKafkaJarsOptions = {
  readonly version?: string;
  /** The mvn binary; `mvn` from PATH by default. */
  readonly mvnPath?: string;
  /** Root of the jar cache; infra/kafka/.cache by default. */
  readonly cacheDir?: string;
};

const inFlight = new Map<string, Promise<string>>();

/**
 * Makes sure the broker jars for one Kafka version are on disk and returns their folder (use it
 * as `-cp "<dir>/*"`). The first call runs mvn copy-dependencies; the folder counts as complete
 * only once a marker file is written after mvn succeeded, so an interrupted download is redone
 * (mvn's own ~/.m2 cache makes the redo fast). Calls for the same version share one download
 * within a process; concurrent processes each download into their own scratch folder and the
 * first to finish wins the rename.
 */
export function ensureKafkaJars(options: EnsureKafkaJarsOptions = {}): Promise<string> {
  const version = options.version ?? DEFAULT_KAFKA_VERSION;
  const cacheDir = options.cacheDir ?? KAFKA_CACHE_DIR;
  const key = `${cacheDir}\u0000${version}`;
  const existing = inFlight.get(key);
  if (existing !== undefined) return existing;
  const pending = downloadOnce(version, cacheDir, options.mvnPath ?? "mvn");
  inFlight.set(key, pending);
  pending.catch(() => inFlight.delete(key));
  return pending;
}

/** True when the jars for `version` are already complete in the cache (no download needed). */
export function hasKafkaJars(version: string = DEFAULT_KAFKA_VERSION, cacheDir: string = KAFKA_CACHE_DIR): boolean {
  return existsSync(join(cacheDir, version, COMPLETE_MARKER));
}

async function downloadOnce(version: string, cacheDir: string, mvnPath: string): Promise<string> {
  const info = kafkaVersionInfo(version);
  const versionDir = join(cacheDir, version);
  const libsDir = join(versionDir, "libs");
  const marker = join(versionDir, COMPLETE_MARKER);
  if (existsSync(marker)) return libsDir;

  await mkdir(versionDir, { recursive: true });
  const scratchDir = join(versionDir, `libs.partial-${process.pid}-${Date.now()}`);
  const args = [
    "-q",
    "-B",
    "-f",
    POM_PATH,
    `-Dkafka.version=${version}`,
    ...Object.entries(info.mavenProperties).map(([name, value]) => `-D${name}=${value}`),
    "-P",
    info.mavenProfile,
    "dependency:copy-dependencies",
    "-DincludeScope=runtime",
    // An absolute path: mvn resolves a relative one against the pom's folder, not the cwd.
    `-DoutputDirectory=${scratchDir}`,
  ];
  const outcome = await runCommand(mvnPath, args);
  if (outcome.kind === "not_found") {
    throw new LocalKafkaError(
      "maven_not_found",
      `Maven ("${mvnPath}") is needed once to download the Kafka ${version} jars but was not found: apt-get install maven, or set KAFKA_BROKERS to an existing cluster`,
    );
  }
  if (outcome.exitCode !== 0) {
    await rm(scratchDir, { recursive: true, force: true });
    const tail = tailLines(outcome.output, 20);
    const reason = tail.find((line) => line.includes("[ERROR]")) ?? tail.at(-1) ?? "no output";
    throw new LocalKafkaError(
      "jar_download_failed",
      `Downloading the Kafka ${version} jars with mvn failed (exit ${String(outcome.exitCode)}): ${reason.replace(/\s+/g, " ").slice(0, 400)} — check network access to Maven Central and rerun "npx tsx infra/kafka/src/cli.ts fetch"`,
      tail.join("\n"),
    );
  }
  const jars = (await readdir(scratchDir).catch(() => [] as string[])).filter((name) => name.endsWith(".jar"));
  if (!jars.some((name) => name.startsWith(`kafka_2.13-${version}`))) {
    await rm(scratchDir, { recursive: true, force: true });
    throw new LocalKafkaError(
      "jar_download_failed",
      `mvn finished but kafka_2.13-${version}.jar is not among the ${jars.length} jars it copied: rerun "npx tsx infra/kafka/src/cli.ts fetch --version ${version}"`,
    );
  }
  // mvn wrote into a scratch folder, so a `libs` folder only ever appears by this rename of a
  // complete download. If the rename fails because `libs` exists, another process got there
  // first (or crashed between its rename and its marker) and that folder is complete too.
  try {
    await rename(scratchDir, libsDir);
  } catch (error) {
    await rm(scratchDir, { recursive: true, force: true });
    if (!existsSync(libsDir)) throw error;
  }
  await writeFile(marker, `${new Date().toISOString()}\n`);
  return libsDir;
}
