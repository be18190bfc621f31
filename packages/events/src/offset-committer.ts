import type { Logger } from "@tributary/telemetry";

/** One partition's next offset to read, as Kafka's OffsetCommit takes it (a decimal string). */
export interface PartitionOffset {
  readonly partition: number;
  readonly offset: string;
}

/**
 * Commits a consumer's offsets to Kafka after their effects committed, without holding up the
 * next transaction: internal to the idempotent consumer, which runs with kafkajs' autoCommit off
 * (kafkajs' resolved offset runs ahead of the database work, to pipeline it behind the fetch).
 */
export interface OffsetCommitter {
  /** Everything before `offset` of `partition` has committed its effect (or dead letter): commit it soon. */
  done(partition: number, offset: string): void;
  /** Resolves when every offset handed to `done` so far has been sent (or its commit failed and was logged). */
  flush(): Promise<void>;
}

/**
 * One OffsetCommit request in flight at a time, carrying the latest offset of every partition
 * that moved since the last one, so commits coalesce under load and stay in order per partition.
 * A failed commit (a rebalance, a coordinator move) is logged and not retried: the offset only
 * ever lags the effects, and a lag costs a redelivery, which the inbox makes harmless.
 */
export function createOffsetCommitter(
  commit: (offsets: readonly PartitionOffset[]) => Promise<void>,
  logger: Logger,
): OffsetCommitter {
  const pending = new Map<number, string>();
  let running: Promise<void> | undefined;

  const loop = async (): Promise<void> => {
    while (pending.size > 0) {
      const offsets = [...pending].map(([partition, offset]) => ({ partition, offset }));
      pending.clear();
      try {
        await commit(offsets);
      } catch (error) {
        logger.warn({ err: error, offsets }, "consumer: offset commit failed; the events after it will be redelivered (the inbox skips them)");
      }
    }
  };

  const kick = (): void => {
    if (running !== undefined) return;
    running = loop().finally(() => {
      running = undefined;
      // An offset handed over between the loop's last check and here still goes out.
      if (pending.size > 0) kick();
    });
  };

  return {
    done(partition, offset) {
      pending.set(partition, offset);
      kick();
    },
    async flush() {
      while (running !== undefined) await running;
    },
  };
}
