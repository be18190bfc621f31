/**
 * Command line for the local Kafka broker, for people and scripts rather than tests:
 *   npx tsx infra/kafka/src/cli.ts fetch  [--version X]
 *   npx tsx infra/kafka/src/cli.ts start  [--nodes 1|3] [--version X] [--override k=v]… [--data-dir D]
 *   npx tsx infra/kafka/src/cli.ts status [--version X]
 * `start` prints `KAFKA_BROKERS=127.0.0.1:NNNN[,…]` once every node is ready and stays in the
 * foreground until SIGINT/SIGTERM, then stops the brokers cleanly. Errors print one line to
 * stderr and exit non-zero.
 */
import { parseArgs } from "node:util";
import { checkJava, defaultJavaPath } from "./check-java.js";
import { ensureKafkaJars, hasKafkaJars } from "./ensure-kafka-jars.js";
import { DEFAULT_KAFKA_VERSION } from "./kafka-versions.js";
import { LocalKafkaError } from "./local-kafka-error.js";
import { parseOverride } from "./server-properties.js";
import { startKafka, type StartKafkaOptions } from "./start-kafka.js";

const USAGE =
  "usage: cli.ts fetch [--version X] | start [--nodes 1|3] [--version X] [--override k=v]… [--data-dir D] [--log-file F] | status [--version X]";

async function main(argv: readonly string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      version: { type: "string" },
      nodes: { type: "string" },
      override: { type: "string", multiple: true },
      "data-dir": { type: "string" },
      "log-file": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals[0];
  const version = values.version ?? DEFAULT_KAFKA_VERSION;
  if (values.help === true || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  switch (command) {
    case "fetch": {
      const startedAt = Date.now();
      const libsDir = await ensureKafkaJars({ version });
      process.stdout.write(`Kafka ${version} jars ready in ${libsDir} (${Date.now() - startedAt} ms)\n`);
      return 0;
    }
    case "status": {
      const javaMajor = await checkJava(defaultJavaPath()).then(
        (major) => `java ${major}`,
        (error: unknown) => (error instanceof LocalKafkaError ? error.message : String(error)),
      );
      process.stdout.write(`${javaMajor}\nKafka ${version} jars: ${hasKafkaJars(version) ? "downloaded" : "not downloaded (run fetch)"}\n`);
      return 0;
    }
    case "start":
      return start(version, values);
    default:
      process.stderr.write(`Unknown command "${command}": ${USAGE}\n`);
      return 2;
  }
}

async function start(
  version: string,
  values: { nodes?: string; override?: string[]; "data-dir"?: string; "log-file"?: string },
): Promise<number> {
  const nodes = values.nodes ?? "1";
  if (nodes !== "1" && nodes !== "3") {
    process.stderr.write(`--nodes must be 1 or 3, not "${nodes}"\n`);
    return 2;
  }
  const overrides = Object.fromEntries((values.override ?? []).map(parseOverride));
  const options: StartKafkaOptions = {
    version,
    nodes: nodes === "3" ? 3 : 1,
    overrides,
    ...(values["data-dir"] === undefined ? {} : { dataDir: values["data-dir"] }),
    ...(values["log-file"] === undefined ? {} : { logFile: values["log-file"] }),
  };
  // Handle the signals before the brokers exist, so a Ctrl-C during start-up still stops them.
  let stopRequested: (signal: NodeJS.Signals) => void = () => undefined;
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    stopRequested = resolve;
  });
  process.once("SIGINT", () => stopRequested("SIGINT"));
  process.once("SIGTERM", () => stopRequested("SIGTERM"));

  const startedAt = Date.now();
  const cluster = await Promise.race([startKafka(options), stopSignal.then(() => undefined)]);
  // Interrupted during start-up: exiting runs the exit hook, which reaps any broker already spawned.
  if (cluster === undefined) process.exit(130);
  process.stderr.write(
    `Kafka ${cluster.version}, ${cluster.nodes.length} node(s), ready in ${Date.now() - startedAt} ms; logs: ${cluster.nodes.map((node) => node.logFile).join(", ")}\n`,
  );
  process.stdout.write(`KAFKA_BROKERS=${cluster.brokers.join(",")}\n`);
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const signal = await stopSignal;
  process.stderr.write(`${signal}: stopping Kafka…\n`);
  await cluster.stop();
  clearInterval(keepAlive);
  return 0;
}

main(process.argv.slice(2)).then(
  (exitCode) => {
    process.exitCode = exitCode;
  },
  (error: unknown) => {
    const message = error instanceof LocalKafkaError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
    process.stderr.write(`${message}\n`);
    process.exitCode = 1;
  },
);
