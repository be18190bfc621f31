import { metrics, type Attributes, type Meter } from "@opentelemetry/api";
import type { Logger } from "@tributary/telemetry";
import type { Admin, Consumer, ConsumerConfig, ConsumerSubscribeTopic, ConsumerSubscribeTopics, Kafka } from "kafkajs";
import type pg from "pg";
import { startBackgroundPoll } from "./background-poll.js";

/** What the standard metrics read; see {@link startServiceMetrics}. */
export interface ServiceMetricsOptions {
  readonly name: string;
  readonly pool: pg.Pool;
  readonly kafka: Kafka;
  readonly logger: Logger;
  /** How often the database and Kafka are read; 5000 ms unless told. */
  readonly pollIntervalMs?: number;
  /** The meter the gauges are made on; `@tributary/service-kit` on the global provider unless told. */
  readonly meter?: Meter;
}

/** The running standard metrics of one service. */
export interface ServiceMetrics {
  /**
   * Reports the lag of a consumer group on these topics. Consumers made on the runtime's Kafka
   * client are watched without this; it is for a group consumed through another client.
   */
  watchConsumerGroup(groupId: string, topics: readonly string[]): void;
  /** Stops reporting the group on these topics (its consumer left); the group goes when none are left. */
  unwatchConsumerGroup(groupId: string, topics: readonly string[]): void;
  /** Reads everything once now; resolves when the gauges hold the new values (tests, `stack status`). */
  pollNow(): Promise<void>;
  stop(): Promise<void>;
}

/** The last values read of each part; a part that fails to read keeps its last values. */
interface Snapshot {
  outbox?: { readonly pending: number; readonly quarantined: number; readonly oldestPendingAgeS: number };
  parked?: readonly { readonly group: string; readonly topic: string; readonly keys: number }[];
  /** By consumer group. */
  readonly lag: Map<string, readonly { readonly topic: string; readonly partition: number; readonly lag: number }[]>;
}

// One statement for the backlog and its age: the pending part is an ordered scan of
// outbox_pending_idx (published_at IS NULL AND quarantined_at IS NULL), quarantined rows are few.
const outboxQuery = `
SELECT count(*) FILTER (WHERE "quarantined_at" IS NULL)::bigint AS "pending",
       count(*) FILTER (WHERE "quarantined_at" IS NOT NULL)::bigint AS "quarantined",
       COALESCE(EXTRACT(EPOCH FROM now() - min("created_at") FILTER (WHERE "quarantined_at" IS NULL)), 0)::float8 AS "oldest_age_s"
FROM "outbox" WHERE "published_at" IS NULL`;

// Parked (unresolved dead letter) and draining keys both hold the key's later events back.
const parkedQuery = `SELECT "consumer_group", "topic", count(*)::bigint AS "keys" FROM "parked_key" GROUP BY 1, 2`;

/** Longest `stop()` waits for a read in flight. */
const stopWaitMs = 2_000;

const groupAttribute = "messaging.consumer.group.name";
const topicAttribute = "messaging.destination.name";
const partitionAttribute = "messaging.destination.partition.id";

/**
 * The metrics every service gets from the kit, as observable gauges on the global meter provider
 * (so on `/metrics` and any OTLP reader):
 * - `tributary.outbox.unpublished` {message}, `state` = `pending` | `quarantined`: outbox rows not
 *   yet published, from the service's own database;
 * - `tributary.outbox.oldest_unpublished.age` (s): how long the oldest pending row has waited (0 when none);
 * - `tributary.consumer.parked_keys` {key} by group and topic: keys held behind a dead letter;
 * - `tributary.consumer.lag` {message} by group, topic and partition: the topic's end offset less
 *   the group's committed offset (the whole retained log when the group has committed nothing).
 * - `tributary.metrics.read.age` (s) by `part` (`outbox`, `parked_keys`, `consumer_lag` with the
 *   group): time since that part was last read successfully.
 * They are read every `pollIntervalMs` in the background, never during a scrape, so a slow
 * database or broker cannot stall `/metrics`. A part that fails to read logs once and keeps its
 * last values — the OpenTelemetry JS SDK goes on exporting an observable gauge's last value for
 * every attribute set it ever saw (cumulative temporality) — so `tributary.metrics.read.age`
 * growing past a few intervals is what says those numbers are stale. A group whose consumer
 * stopped keeps its last lag on the endpoint for the same reason, its read age growing.
 */
export function startServiceMetrics(options: ServiceMetricsOptions): ServiceMetrics {
  const meter = options.meter ?? metrics.getMeter("@tributary/service-kit");
  const pollIntervalMs = options.pollIntervalMs ?? 5_000;
  const groups = new Map<string, Set<string>>();
  const snapshot: Snapshot = { lag: new Map() };
  const failing = new Set<string>();
  const startedAt = performance.now();
  /** When each part last read successfully, by part key, with the attributes its age is reported under. */
  const readAt = new Map<string, { readonly attributes: Attributes; at: number }>();
  const markRead = (key: string, attributes: Attributes): void => {
    readAt.set(key, { attributes, at: performance.now() });
  };
  const expectRead = (key: string, attributes: Attributes): void => {
    if (!readAt.has(key)) readAt.set(key, { attributes, at: startedAt });
  };

  const unpublished = meter.createObservableGauge("tributary.outbox.unpublished", {
    description: "Outbox rows not yet published to Kafka, by state (pending, quarantined).",
    unit: "{message}",
  });
  const oldestAge = meter.createObservableGauge("tributary.outbox.oldest_unpublished.age", {
    description: "Age of the oldest pending outbox row; 0 when the outbox is drained.",
    unit: "s",
  });
  const parkedKeys = meter.createObservableGauge("tributary.consumer.parked_keys", {
    description: "Keys held behind an unresolved (or draining) dead letter, by consumer group and topic.",
    unit: "{key}",
  });
  const lag = meter.createObservableGauge("tributary.consumer.lag", {
    description: "Messages a consumer group has not committed yet, by topic and partition.",
    unit: "{message}",
  });
  const readAge = meter.createObservableGauge("tributary.metrics.read.age", {
    description: "Time since the service kit last read this part of its metrics; growing means the values are stale.",
    unit: "s",
  });
  const observeOutbox = (result: { observe(value: number, attributes?: Attributes): void }): void => {
    if (snapshot.outbox === undefined) return;
    result.observe(snapshot.outbox.pending, { state: "pending" });
    result.observe(snapshot.outbox.quarantined, { state: "quarantined" });
  };
  const observeAge = (result: { observe(value: number): void }): void => {
    if (snapshot.outbox !== undefined) result.observe(snapshot.outbox.oldestPendingAgeS);
  };
  const observeParked = (result: { observe(value: number, attributes?: Attributes): void }): void => {
    if (snapshot.parked === undefined) return;
    // Watched groups' topics report 0, so "no parked keys" is a value and not a missing series.
    const seen = new Set<string>();
    for (const row of snapshot.parked) {
      seen.add(`${row.group}\u0000${row.topic}`);
      result.observe(row.keys, { [groupAttribute]: row.group, [topicAttribute]: row.topic });
    }
    for (const [group, topics] of groups) {
      for (const topic of topics) {
        if (!seen.has(`${group}\u0000${topic}`)) result.observe(0, { [groupAttribute]: group, [topicAttribute]: topic });
      }
    }
  };
  const observeLag = (result: { observe(value: number, attributes?: Attributes): void }): void => {
    for (const [group, rows] of snapshot.lag) {
      for (const row of rows) {
        result.observe(row.lag, { [groupAttribute]: group, [topicAttribute]: row.topic, [partitionAttribute]: String(row.partition) });
      }
    }
  };
  const observeReadAge = (result: { observe(value: number, attributes?: Attributes): void }): void => {
    const now = performance.now();
    for (const { attributes, at } of readAt.values()) result.observe((now - at) / 1_000, attributes);
  };
  unpublished.addCallback(observeOutbox);
  oldestAge.addCallback(observeAge);
  parkedKeys.addCallback(observeParked);
  lag.addCallback(observeLag);
  readAge.addCallback(observeReadAge);
  expectRead("outbox", { part: "outbox" });
  expectRead("parked_keys", { part: "parked_keys" });

  /**
   * Runs one read of a part; records when it succeeded, logs the first failure of a streak and
   * the recovery, and returns undefined on failure.
   */
  const attempt = async <T>(part: string, key: string, attributes: Attributes, read: () => Promise<T>): Promise<T | undefined> => {
    try {
      const value = await read();
      markRead(key, attributes);
      if (failing.delete(part)) options.logger.info({ part }, `${options.name}: metrics read ${part} again`);
      return value;
    } catch (error) {
      // A read cut short by stop() (the pool or the admin client closed under it) is not news.
      if (background.stopped()) return undefined;
      if (!failing.has(part)) {
        failing.add(part);
        options.logger.warn({ err: error, part }, `${options.name}: cannot read ${part} for metrics; not reported until it reads again`);
      }
      return undefined;
    }
  };

  let admin: Admin | undefined;
  const connectedAdmin = async (): Promise<Admin> => {
    if (admin === undefined) {
      const created = options.kafka.admin();
      await created.connect();
      admin = created;
    }
    return admin;
  };
  type EndOffsets = { partition: number; high: string; low: string }[];
  /** One group's lag on its watched topics; `ends` caches each topic's end offsets for this poll. */
  const groupLag = async (group: string, topics: readonly string[], ends: Map<string, Promise<EndOffsets>>) => {
    const connected = await connectedAdmin();
    const committed = await connected.fetchOffsets({ groupId: group, topics: [...topics] });
    const rows: { topic: string; partition: number; lag: number }[] = [];
    for (const { topic, partitions } of committed) {
      let topicEnds = ends.get(topic);
      if (topicEnds === undefined) {
        topicEnds = connected.fetchTopicOffsets(topic);
        ends.set(topic, topicEnds);
      }
      const byPartition = new Map(partitions.map((p) => [p.partition, BigInt(p.offset)]));
      for (const end of await topicEnds) {
        const offset = byPartition.get(end.partition) ?? -1n;
        const behind = offset < 0n ? BigInt(end.high) - BigInt(end.low) : BigInt(end.high) - offset;
        rows.push({ topic, partition: end.partition, lag: Number(behind < 0n ? 0n : behind) });
      }
    }
    return rows;
  };
  const readLag = async (): Promise<void> => {
    const ends = new Map<string, Promise<EndOffsets>>();
    for (const group of snapshot.lag.keys()) if (!groups.has(group)) snapshot.lag.delete(group);
    for (const [group, topics] of groups) {
      const attributes = { part: "consumer_lag", [groupAttribute]: group };
      expectRead(`lag\u0000${group}`, attributes);
      // A new group's coordinator may still be loading (NOT_COORDINATOR): that group waits for the next poll.
      const rows = await attempt(`consumer lag of ${group}`, `lag\u0000${group}`, attributes, () => groupLag(group, [...topics], ends));
      if (rows !== undefined) snapshot.lag.set(group, rows);
    }
  };

  const background = startBackgroundPoll(async () => {
    const [outbox, parked] = await Promise.all([
      attempt("the outbox", "outbox", { part: "outbox" }, async () => {
        const { rows } = await options.pool.query<{ pending: string; quarantined: string; oldest_age_s: number }>(outboxQuery);
        const row = rows[0];
        return { pending: Number(row?.pending ?? 0), quarantined: Number(row?.quarantined ?? 0), oldestPendingAgeS: row?.oldest_age_s ?? 0 };
      }),
      attempt("the parked keys", "parked_keys", { part: "parked_keys" }, async () => {
        const { rows } = await options.pool.query<{ consumer_group: string; topic: string; keys: string }>(parkedQuery);
        return rows.map((row) => ({ group: row.consumer_group, topic: row.topic, keys: Number(row.keys) }));
      }),
      readLag(),
    ]);
    if (outbox !== undefined) snapshot.outbox = outbox;
    if (parked !== undefined) snapshot.parked = parked;
  }, { intervalMs: pollIntervalMs, stopWaitMs });

  return {
    watchConsumerGroup(groupId, topics) {
      const watched = groups.get(groupId) ?? new Set<string>();
      for (const topic of topics) watched.add(topic);
      if (watched.size > 0) groups.set(groupId, watched);
    },
    unwatchConsumerGroup(groupId, topics) {
      const watched = groups.get(groupId);
      for (const topic of topics) watched?.delete(topic);
      // Its read age goes on growing: the SDK keeps exporting the group's last lag, and the age says it is stale.
      if (watched?.size === 0) groups.delete(groupId);
    },
    pollNow: () => background.pollNow(),
    async stop() {
      // A read stuck on an unreachable broker (kafkajs retries for a while) must not hold up
      // shutdown: give it a moment, then disconnect under it.
      await background.stop();
      unpublished.removeCallback(observeOutbox);
      oldestAge.removeCallback(observeAge);
      parkedKeys.removeCallback(observeParked);
      lag.removeCallback(observeLag);
      readAge.removeCallback(observeReadAge);
      await admin?.disconnect();
    },
  };
}

/**
 * Makes every consumer created on `kafka` report its group's lag: `consumer()` is wrapped so a
 * subscription to named topics watches the group on those topics, and `disconnect()` stops
 * watching it. RegExp subscriptions are not followed (call `watchConsumerGroup` with the topics).
 * The kit does this to its own client only, so services get lag without a line of their own.
 */
export function watchConsumersOf(kafka: Kafka, serviceMetrics: () => ServiceMetrics | undefined): Kafka {
  const createConsumer = kafka.consumer.bind(kafka);
  kafka.consumer = (config: ConsumerConfig): Consumer => {
    const consumer = createConsumer(config);
    const subscribe = consumer.subscribe.bind(consumer);
    const disconnect = consumer.disconnect.bind(consumer);
    const subscribed = new Set<string>();
    consumer.subscribe = async (subscription: ConsumerSubscribeTopics | ConsumerSubscribeTopic): Promise<void> => {
      await subscribe(subscription);
      const named = "topics" in subscription ? subscription.topics : [subscription.topic];
      const topics = named.filter((topic): topic is string => typeof topic === "string");
      for (const topic of topics) subscribed.add(topic);
      if (topics.length > 0) serviceMetrics()?.watchConsumerGroup(config.groupId, topics);
    };
    consumer.disconnect = async (): Promise<void> => {
      serviceMetrics()?.unwatchConsumerGroup(config.groupId, [...subscribed]);
      await disconnect();
    };
    return consumer;
  };
  return kafka;
}
