import type { TopicDefinition } from "@tributary/contracts";
import type { Admin, Kafka } from "kafkajs";

/** Options of {@link ensureTopics}. */
export interface EnsureTopicsOptions {
  /**
   * Overrides every topic's declared partition count: for tests and benchmarks that need a
   * known small number. Services never pass it.
   */
  readonly numPartitions?: number;
  /** Told when a cluster has fewer brokers than a topic's declared replication factor. */
  readonly onReducedReplication?: (topic: string, declared: number, used: number) => void;
  /** How long to wait for a just-started cluster to name its controller; 30 s unless told. */
  readonly controllerWaitMs?: number;
}

/** Between asks while the cluster names no controller. */
const CONTROLLER_RETRY_MS = 250;

/** What {@link ensureTopics} created. */
export interface EnsureTopicsReport {
  /** Topics created now (each `<topic>` and `<topic>.dlq` that did not exist). */
  readonly created: readonly string[];
  /** The replication factor topics were created with (the declared one, or the broker count if smaller). */
  readonly replicationFactor: number | undefined;
}

/**
 * Creates each topic and its `<topic>.dlq` if they do not exist yet, with the partitions,
 * replication factor and `min.insync.replicas` its {@link TopicDefinition} declares — never the
 * broker's defaults (which would pick the partition count by accident). On a cluster with fewer
 * brokers than declared (the single local broker of development and tests) the replication
 * factor and min ISR are lowered to the broker count and `onReducedReplication` is told; a
 * three-broker cluster gets exactly what is declared. A dead-letter topic is provisioned like its
 * topic. Services call this at start-up (the service kit does), tests before producing.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: readonly TopicDefinition[],
  options: EnsureTopicsOptions = {},
): Promise<EnsureTopicsReport> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.flatMap((topic) =>
      [topic.name, topic.deadLetterName].filter((name) => !existing.has(name)).map((name) => ({ name, topic })),
    );
    if (missing.length === 0) return { created: [], replicationFactor: undefined };
    const brokerCount = (await admin.describeCluster()).brokers.length;
    let replicationFactor: number | undefined;
    const topicsToCreate = missing.map(({ name, topic }) => {
      const declared = topic.provisioning;
      const replicas = Math.min(declared.replicationFactor, brokerCount);
      if (replicas < declared.replicationFactor) options.onReducedReplication?.(name, declared.replicationFactor, replicas);
      replicationFactor = replicas;
      return {
        topic: name,
        numPartitions: options.numPartitions ?? declared.partitions,
        replicationFactor: replicas,
        configEntries: [{ name: "min.insync.replicas", value: String(Math.min(declared.minInsyncReplicas, replicas)) }],
      };
    });
    await createTopicsOnceControllerKnown(admin, { waitForLeaders: true, topics: topicsToCreate }, options.controllerWaitMs);
    return { created: missing.map(({ name }) => name), replicationFactor };
  } finally {
    await admin.disconnect();
  }
}

/**
 * `admin.createTopics(request)`, asked again while the cluster names no controller (for up to
 * `waitMs`, 30 s unless told). Just after a multi-broker cluster starts its metadata can say
 * controller -1, and kafkajs then fails at once with KafkaJSBrokerNotFound (before sending
 * anything) instead of retrying. Any other error is thrown.
 */
export async function createTopicsOnceControllerKnown(admin: Admin, request: Parameters<Admin["createTopics"]>[0], waitMs = 30_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await admin.createTopics(request);
      return;
    } catch (error) {
      if (!(error instanceof Error && error.name === "KafkaJSBrokerNotFound")) throw error;
      if (Date.now() >= deadline) {
        throw new Error(`Kafka named no controller within ${waitMs} ms, so no topic could be created (${error.message}): check that the cluster's controllers have a quorum`, {
          cause: error,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, CONTROLLER_RETRY_MS));
    }
  }
}
