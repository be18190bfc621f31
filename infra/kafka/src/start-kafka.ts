import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { headlineOf, isBindFailure, meaningfulLines, overrideNamedIn, readLog } from "./broker-log.js";
import { checkJava, defaultJavaPath } from "./check-java.js";
import { ensureKafkaJars } from "./ensure-kafka-jars.js";
import { assertPortFree, findFreePorts } from "./free-port.js";
import { KafkaNodeProcess, type NotReady } from "./kafka-node-process.js";
import { DEFAULT_KAFKA_VERSION, kafkaVersionInfo, type KafkaVersionInfo } from "./kafka-versions.js";
import { LocalKafkaError } from "./local-kafka-error.js";
import { runCommand, tailLines } from "./run-command.js";
import { formatProperties, serverProperties, validateOverrides, type NodeLayout } from "./server-properties.js";

/**
 * The JVM flags each broker runs with: a small heap and the serial collector, because the
 * machine has 2 cores and the test suite runs beside the brokers.
 */
export const DEFAULT_BROKER_JVM_OPTIONS: readonly string[] = [
  "-Xms256m",
  "-Xmx512m",
  "-XX:+UseSerialGC",
  "-XX:+ExitOnOutOfMemoryError",
  "-Djava.awt.headless=true",
];

/** Fixed ports, one per node in node order; unset ones are picked free. */
export type KafkaPorts = {
  readonly brokers?: readonly number[];
  readonly controllers?: readonly number[];
};

/** Options for {@link startKafka}. Everything has a default suited to tests. */
export type StartKafkaOptions = {
  /** Kafka release, e.g. "3.9.2" (default) or "4.1.2". */
  readonly version?: string;
  /** One node for ordinary tests, three for replication and failure tests. */
  readonly nodes?: 1 | 3;
  /** Where node folders go; a fresh temp folder (removed by stop()) by default. */
  readonly dataDir?: string;
  /** Broker settings that win over the launcher's defaults. */
  readonly overrides?: Readonly<Record<string, string>>;
  /** Log file of node 1; node n logs beside it with ".node-n" before the extension. */
  readonly logFile?: string;
  readonly ports?: KafkaPorts;
  /** The java binary; `$JAVA_HOME/bin/java` or `java` by default. */
  readonly javaPath?: string;
  readonly mvnPath?: string;
  /** How long every node may take to become ready; 90 s by default. */
  readonly startTimeoutMs?: number;
  readonly jvmOptions?: readonly string[];
};

/** One node of a running local cluster, as tests see it. */
export type KafkaNode = {
  readonly nodeId: number;
  /** "127.0.0.1:port" of this node's PLAINTEXT listener. */
  readonly broker: string;
  readonly brokerPort: number;
  readonly controllerPort: number;
  readonly logFile: string;
  /** The JVM's pid while it runs. */
  readonly pid: number | undefined;
  readonly running: boolean;
};

/** A running local Kafka cluster and the handles tests need to stop, crash and revive nodes. */
export type KafkaCluster = {
  readonly version: string;
  readonly clusterId: string;
  /** Bootstrap servers, "127.0.0.1:port", one per node. */
  readonly brokers: readonly string[];
  readonly nodes: readonly KafkaNode[];
  readonly dataDir: string;
  /**
   * SIGTERM every node and wait for exit (SIGKILL after 30 s, or 3 s once the controller
   * quorum is gone). Safe to call twice.
   */
  stop(): Promise<void>;
  /** SIGKILL one node, as a crash would. */
  kill(nodeId: number): Promise<void>;
  /** Start a stopped or killed node again (or stop and start a running one) and wait until ready. */
  restart(nodeId: number): Promise<void>;
};

const DEFAULT_START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 30_000;
const PORT_RACE_ATTEMPTS = 3;

/** 16 random bytes as base64url without padding, the form of a Kafka cluster id. */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    // A leading "-" would read as a flag to StorageTool; Kafka's own generator avoids it too.
    if (!id.startsWith("-")) return id;
  }
}

/**
 * Starts a real Kafka cluster (KRaft, each node broker and controller) from Maven Central jars:
 * checks Java, fetches the jars once, picks free loopback ports, writes and formats each node,
 * starts the JVMs and waits until every node logs that it started and accepts connections.
 * Failures reject with a {@link LocalKafkaError} whose code says what went wrong.
 */
export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaCluster> {
  const version = options.version ?? DEFAULT_KAFKA_VERSION;
  const nodeCount = options.nodes ?? 1;
  const overrides = options.overrides ?? {};
  const javaPath = options.javaPath ?? defaultJavaPath();
  const info = kafkaVersionInfo(version);
  validateOverrides(overrides);
  await checkJava(javaPath);
  const fixedPorts = await checkFixedPorts(options.ports, nodeCount);
  const libsDir = await ensureKafkaJars({
    version,
    ...(options.mvnPath === undefined ? {} : { mvnPath: options.mvnPath }),
  });
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "tributary-kafka-")));
  const context: StartContext = {
    info,
    nodeCount,
    overrides,
    javaPath,
    libsDir,
    dataDir,
    logFile: options.logFile,
    jvmOptions: [...(options.jvmOptions ?? DEFAULT_BROKER_JVM_OPTIONS), info.loggingJvmFlag],
    timeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
  };

  const attempts = fixedPorts.allFixed ? 1 : PORT_RACE_ATTEMPTS;
  for (let attempt = 1; ; attempt += 1) {
    const layouts = await chooseLayouts(context, fixedPorts);
    const clusterId = newClusterId();
    const processes = await prepareNodes(context, layouts, clusterId).catch(async (error: unknown) => {
      // A format failure carries StorageTool's output in the error; the folder holds nothing more.
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
      throw error;
    });
    processes.forEach((node) => node.start());
    // Nodes of a 3-node cluster wait for each other's quorum: once one fails, stop waiting for
    // the rest instead of letting them run into the start timeout.
    const abandon = new AbortController();
    const outcomes = await Promise.all(
      processes.map(async (node) => {
        const outcome = await node.waitReady(context.timeoutMs, 0, abandon.signal);
        if (outcome !== "ready") abandon.abort();
        return outcome;
      }),
    );
    const failedAt = outcomes.findIndex((outcome) => outcome !== "ready" && outcome.kind !== "abandoned");
    if (failedAt < 0) return makeCluster(context, clusterId, processes, ownsDataDir);

    await Promise.all(processes.map((node) => node.kill()));
    const failure = outcomes[failedAt] as NotReady;
    const failedNode = processes[failedAt] as KafkaNodeProcess;
    if (failure.kind === "exited" && isBindFailure(failure.log) && attempt < attempts) continue;
    throw notReadyError(failedNode, failure, overrides, context.timeoutMs);
  }
}

type StartContext = {
  readonly info: KafkaVersionInfo;
  readonly nodeCount: number;
  readonly overrides: Readonly<Record<string, string>>;
  readonly javaPath: string;
  readonly libsDir: string;
  readonly dataDir: string;
  readonly logFile: string | undefined;
  readonly jvmOptions: readonly string[];
  readonly timeoutMs: number;
};

type FixedPorts = {
  readonly brokers: readonly number[];
  readonly controllers: readonly number[];
  readonly allFixed: boolean;
};

async function checkFixedPorts(ports: KafkaPorts | undefined, nodeCount: number): Promise<FixedPorts> {
  const brokers = ports?.brokers ?? [];
  const controllers = ports?.controllers ?? [];
  for (const [index, port] of brokers.entries()) await assertPortFree(port, `broker of node ${index + 1}`);
  for (const [index, port] of controllers.entries()) await assertPortFree(port, `controller of node ${index + 1}`);
  return { brokers, controllers, allFixed: brokers.length >= nodeCount && controllers.length >= nodeCount };
}

async function chooseLayouts(context: StartContext, fixed: FixedPorts): Promise<NodeLayout[]> {
  const free = await findFreePorts(context.nodeCount * 2);
  const nextFree = (): number => {
    const port = free.shift();
    if (port === undefined) throw new Error("findFreePorts returned too few ports");
    return port;
  };
  const layouts: NodeLayout[] = [];
  for (let index = 0; index < context.nodeCount; index += 1) {
    const nodeId = index + 1;
    layouts.push({
      nodeId,
      brokerPort: fixed.brokers[index] ?? nextFree(),
      controllerPort: fixed.controllers[index] ?? nextFree(),
      logDir: join(context.dataDir, `node-${nodeId}`, "data"),
    });
  }
  return layouts;
}

function logFileOf(context: StartContext, nodeId: number): string {
  if (context.logFile === undefined) return join(context.dataDir, `node-${nodeId}`, "kafka.log");
  if (nodeId === 1) return context.logFile;
  const dot = context.logFile.lastIndexOf(".");
  const slash = context.logFile.lastIndexOf("/");
  return dot > slash + 1
    ? `${context.logFile.slice(0, dot)}.node-${nodeId}${context.logFile.slice(dot)}`
    : `${context.logFile}.node-${nodeId}`;
}

/** Writes server.properties and formats the storage of every node (in parallel). */
async function prepareNodes(
  context: StartContext,
  layouts: readonly NodeLayout[],
  clusterId: string,
): Promise<KafkaNodeProcess[]> {
  return Promise.all(
    layouts.map(async (layout) => {
      const nodeDir = join(context.dataDir, `node-${layout.nodeId}`);
      // A fresh data folder per attempt: a retry after a port race must not find a stale format.
      await rm(layout.logDir, { recursive: true, force: true });
      await mkdir(layout.logDir, { recursive: true });
      const propertiesPath = join(nodeDir, "server.properties");
      const props = serverProperties({
        node: layout,
        cluster: layouts,
        hasShareCoordinator: context.info.hasShareCoordinator,
        overrides: context.overrides,
      });
      await writeFile(propertiesPath, formatProperties(props));
      await formatStorage(context, layout.nodeId, propertiesPath, clusterId);
      const logFile = logFileOf(context, layout.nodeId);
      await mkdir(join(logFile, ".."), { recursive: true });
      await writeFile(logFile, "");
      return new KafkaNodeProcess({
        nodeId: layout.nodeId,
        javaPath: context.javaPath,
        jvmOptions: context.jvmOptions,
        libsDir: context.libsDir,
        propertiesPath,
        logFile,
        brokerPort: layout.brokerPort,
        controllerPort: layout.controllerPort,
      });
    }),
  );
}

async function formatStorage(
  context: StartContext,
  nodeId: number,
  propertiesPath: string,
  clusterId: string,
): Promise<void> {
  const outcome = await runCommand(context.javaPath, [
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    context.info.loggingJvmFlag,
    "-cp",
    `${context.libsDir}/*`,
    "kafka.tools.StorageTool",
    "format",
    "-t",
    clusterId,
    "-c",
    propertiesPath,
    "--ignore-formatted",
  ]);
  if (outcome.kind === "not_found") {
    throw new LocalKafkaError("java_not_found", `Java at "${context.javaPath}" disappeared before formatting node ${nodeId}: reinstall openjdk-17-jre-headless`);
  }
  if (outcome.exitCode === 0) return;
  const badKey = overrideNamedIn(outcome.output, Object.keys(context.overrides));
  const headline = headlineOf(outcome.output) ?? `exit ${String(outcome.exitCode)}`;
  if (badKey !== undefined) {
    throw new LocalKafkaError(
      "invalid_override",
      `Kafka rejected the override "${badKey}" while formatting node ${nodeId}: ${headline} — fix or drop that override`,
      tailLines(outcome.output, 30).join("\n"),
    );
  }
  throw new LocalKafkaError(
    "format_failed",
    `kafka.tools.StorageTool format failed for node ${nodeId}: ${headline} — see ${propertiesPath}`,
    tailLines(outcome.output, 30).join("\n"),
  );
}

function notReadyError(
  node: KafkaNodeProcess,
  failure: NotReady,
  overrides: Readonly<Record<string, string>>,
  timeoutMs: number,
): LocalKafkaError {
  const { nodeId, logFile } = node.launch;
  const details = meaningfulLines(failure.log, 12).join("\n");
  const headline = headlineOf(failure.log) ?? "no error in the log";
  if (failure.kind === "timeout" || failure.kind === "abandoned") {
    return new LocalKafkaError(
      "start_timeout",
      `Kafka node ${nodeId} was not ready after ${Math.round(timeoutMs / 1000)} s (last: ${headline}): see ${logFile}, or raise startTimeoutMs on a busy machine`,
      details,
    );
  }
  const badKey = overrideNamedIn(failure.log, Object.keys(overrides));
  if (badKey !== undefined) {
    return new LocalKafkaError(
      "invalid_override",
      `Kafka rejected the override "${badKey}": ${headline} — fix or drop that override`,
      details,
    );
  }
  const how = failure.signal !== null ? `was killed by ${failure.signal}` : `exited with code ${String(failure.exitCode)}`;
  return new LocalKafkaError(
    "broker_exited",
    `Kafka node ${nodeId} ${how} before it was ready: ${headline} (log: ${logFile})`,
    details,
  );
}

function makeCluster(
  context: StartContext,
  clusterId: string,
  processes: readonly KafkaNodeProcess[],
  ownsDataDir: boolean,
): KafkaCluster {
  const nodeOf = (nodeId: number): KafkaNodeProcess => {
    const node = processes.find((candidate) => candidate.launch.nodeId === nodeId);
    if (node === undefined) {
      throw new LocalKafkaError(
        "unknown_node",
        `There is no Kafka node ${nodeId}: node ids run from 1 to ${processes.length}`,
      );
    }
    return node;
  };
  const nodes: KafkaNode[] = processes.map((node) => {
    const { nodeId, brokerPort, controllerPort, logFile } = node.launch;
    return {
      nodeId,
      broker: `127.0.0.1:${brokerPort}`,
      brokerPort,
      controllerPort,
      logFile,
      get pid() {
        return node.pid;
      },
      get running() {
        return node.running;
      },
    };
  });
  let stopping: Promise<void> | undefined;
  return {
    version: context.info.version,
    clusterId,
    brokers: nodes.map((node) => node.broker),
    nodes,
    dataDir: context.dataDir,
    stop() {
      stopping ??= (async () => {
        // The last nodes of a multi-node cluster cannot finish a controlled shutdown once a
        // majority of the controller quorum has exited (seen: waiting 30 s and more), so they
        // get a short grace and then SIGKILL. A single node shuts down cleanly on its own.
        const quorumLost = new AbortController();
        const majority = Math.floor(processes.length / 2) + 1;
        const checkQuorum = (): void => {
          const alive = processes.filter((node) => node.running).length;
          if (processes.length > 1 && alive < majority) quorumLost.abort();
        };
        checkQuorum();
        await Promise.all(
          processes.map(async (node) => {
            await node.terminate(STOP_GRACE_MS, quorumLost.signal);
            checkQuorum();
          }),
        );
        if (ownsDataDir) await rm(context.dataDir, { recursive: true, force: true });
      })();
      return stopping;
    },
    async kill(nodeId) {
      await nodeOf(nodeId).kill();
    },
    async restart(nodeId) {
      if (stopping !== undefined) throw new Error("restart() after stop(): start a new cluster instead");
      const node = nodeOf(nodeId);
      await node.terminate(STOP_GRACE_MS);
      const logOffset = (await readLog(node.launch.logFile)).length;
      node.start();
      const outcome = await node.waitReady(context.timeoutMs, logOffset);
      if (outcome !== "ready") {
        await node.kill();
        throw notReadyError(node, outcome, context.overrides, context.timeoutMs);
      }
    },
  };
}
