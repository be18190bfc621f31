import type { TopicDefinition } from "@tributary/contracts";
import type { Kafka } from "kafkajs";

/** Partition and replication settings for {@link ensureTopics}. */
export interface EnsureTopicsOptions {
  /** Partitions of each topic (its dead-letter topic gets the same); broker default unless told. */
  readonly numPartitions?: number;
  /** Replication factor; broker default unless told. */
  readonly replicationFactor?: number;
}

/**
 * Creates each topic and its `<topic>.dlq` if they do not exist yet. Producers here never rely
 * on broker auto-creation (which would pick the partition count by accident), so a service
 * calls this at start-up, and tests call it before producing.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: readonly TopicDefinition[],
  options: EnsureTopicsOptions = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const names = topics.flatMap((t) => [t.name, t.deadLetterName]).filter((name) => !existing.has(name));
    if (names.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: names.map((topic) => ({
        topic,
        ...(options.numPartitions === undefined ? {} : { numPartitions: options.numPartitions }),
        ...(options.replicationFactor === undefined ? {} : { replicationFactor: options.replicationFactor }),
      })),
    });
  } finally {
    await admin.disconnect();
  }
}
