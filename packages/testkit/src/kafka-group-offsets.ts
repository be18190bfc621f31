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
export async function startGroupAtTopicEnd(
  kafka: { admin(): GroupOffsetsAdmin },
  groupId: string,
  topic: string,
  options: { readonly memberGoneWaitMs?: number; readonly retryEveryMs?: number } = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return; // nothing published yet: nothing to skip
    // A member an earlier file's process left behind without leaving the group (killed, not
    // stopped) holds the group until the broker's session timeout drops it: wait for that.
    const deadline = Date.now() + (options.memberGoneWaitMs ?? 45_000);
    for (;;) {
      const ends = await admin.fetchTopicOffsets(topic);
      try {
        await admin.setOffsets({ groupId, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.offset })) });
        return;
      } catch (error) {
        if (!groupHasMembers(error) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, options.retryEveryMs ?? 500));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/** kafkajs' refusal to set the offsets of a group that has members. */
function groupHasMembers(error: unknown): boolean {
  return error instanceof Error && error.message.includes("must have no running instances");
}
