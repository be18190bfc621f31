/** What {@link startGroupAtTopicEnd} needs of a kafkajs admin client (kafkajs' `Admin` has it). */
export interface GroupOffsetsAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  fetchTopicOffsets(topic: string): Promise<readonly { partition: number; offset: string }[]>;
  setOffsets(options: { groupId: string; topic: string; partitions: { partition: number; offset: string }[] }): Promise<void>;
}

/**
 * Commits a new consumer group's offsets at the topic's end before its consumer starts, so a test
 * file's consumer reads only the events the file publishes — not those earlier files left on the
 * shared broker (a new group would otherwise start at the earliest offset and apply them too).
 */
export async function startGroupAtTopicEnd(kafka: { admin(): GroupOffsetsAdmin }, groupId: string, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return; // nothing published yet: nothing to skip
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.offset })) });
  } finally {
    await admin.disconnect();
  }
}
