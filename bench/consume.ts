/**
 * `npm run bench -- consume`: the idempotent consumer against a raw kafkajs consumer in the same
 * run, on the same broker, reading the same BENCH_MESSAGES messages (BENCH_MESSAGE_BYTES of
 * protobuf plus the envelope headers) from the same topic, with the same consumer settings.
 * - baseline: kafkajs `eachBatch` that counts each message and resolves its offset.
 * - subject: `startIdempotentConsumer` decoding each message by its event type and applying a
 *   one-row effect per event (rows in `test_effect`) in the transaction that records the inbox
 *   rows, through `handleBatch` (one multi-row INSERT per run of events). The same consumer with
 *   a per-event `handle` (one INSERT round trip per event) is measured too and reported as
 *   `subject.perEventHandler`: it is bound by Postgres round trips, not by the consumer.
 * Each is timed from its first message to its last one (the subject: to the last inbox commit),
 * so the group join is not counted. BENCH_ROUNDS (5) interleaved rounds, fresh groups; `ratio`
 * is the median of the per-round ratios. Last stdout line: `{"bench":"consume","subject":{…},"baseline":{…},"ratio":…,"goal":0.5}`.
 * BENCH_PER_EVENT=0 leaves the per-event handler out; BENCH_FETCH_BYTES (1 MiB, kafkajs' default)
 * is maxBytesPerPartition for both sides. Infra: see bench/_events-infra.ts.
 */
import { createIdempotentProducer, ensureTopics, startIdempotentConsumer } from "@tributary/events";
import { createLogger } from "@tributary/telemetry";
import {
  batchSize,
  benchTopic,
  envelopedMessage,
  log,
  median,
  messageBytes,
  messageCount,
  partitions,
  rate,
  rounds,
  runId,
  startInfra,
} from "./_events-infra.js";

const infra = await startInfra();
const { kafka, pool } = infra;
const topic = benchTopic("consume");
const sessionTimeout = 10_000;
const heartbeatInterval = 1_000;
const maxWaitTimeInMs = 500;
const maxBytesPerPartition = Number.parseInt(process.env["BENCH_FETCH_BYTES"] ?? String(1024 * 1024), 10);
// BENCH_PER_EVENT=0 leaves out the per-event handler (e.g. to profile the batch path alone).
const measurePerEvent = process.env["BENCH_PER_EVENT"] !== "0";

async function fill(count: number): Promise<void> {
  await ensureTopics(kafka, [topic], { numPartitions: partitions });
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  for (let i = 0; i < count; i += batchSize) {
    const messages = Array.from({ length: Math.min(batchSize, count - i) }, (_, j) => envelopedMessage(i + j));
    await producer.sendBatch({ acks: -1, topicMessages: [{ topic: topic.name, messages }] });
  }
  await producer.disconnect();
}

async function baseline(round: number, count: number): Promise<number> {
  const consumer = kafka.consumer({
    groupId: `bench-raw-${runId}-${round}`,
    sessionTimeout,
    heartbeatInterval,
    maxWaitTimeInMs,
    maxBytesPerPartition,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: topic.name, fromBeginning: true });
  let seen = 0;
  let first = 0;
  const elapsed = await new Promise<number>((resolve) => {
    void consumer.run({
      partitionsConsumedConcurrently: partitions,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (first === 0) first = performance.now();
        for (const message of batch.messages) {
          seen += 1;
          resolveOffset(message.offset);
        }
        await heartbeat();
        if (seen >= count) resolve(performance.now() - first);
      },
    });
  });
  await consumer.disconnect();
  return elapsed;
}

const insertEffects = `
INSERT INTO "test_effect" ("consumer_group", "event_id", "message_key", "event_type")
SELECT $1, e, k, t FROM unnest($2::uuid[], $3::text[], $4::text[]) AS u(e, k, t)`;

async function subject(round: number, count: number, mode: "batch" | "per-event"): Promise<number> {
  const groupId = `bench-idem-${mode}-${runId}-${round}`;
  let first = 0;
  let handled = 0;
  let allHandled: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allHandled = resolve));
  const consumer = await startIdempotentConsumer({
    kafka,
    pool,
    groupId,
    topic,
    sessionTimeoutMs: sessionTimeout,
    heartbeatIntervalMs: heartbeatInterval,
    maxWaitTimeMs: maxWaitTimeInMs,
    maxBytesPerPartition,
    partitionsConsumedConcurrently: partitions,
    logger: createLogger({ serviceName: "bench", level: "warn" }),
    ...(mode === "batch"
      ? {
          // One effect row per event, written for the whole run of events in one statement.
          handleBatch: async (events, tx) => {
            if (first === 0) first = performance.now();
            await tx.query({
              name: "bench-effects",
              text: insertEffects,
              values: [groupId, events.map((e) => e.eventId), events.map((e) => e.key), events.map((e) => e.eventType)],
            });
            handled += events.length;
            if (handled >= count) allHandled();
          },
        }
      : {
          handle: async (event, tx) => {
            if (first === 0) first = performance.now();
            await tx.query({
              name: "bench-effect",
              text: `INSERT INTO "test_effect" ("consumer_group", "event_id", "message_key", "event_type") VALUES ($1, $2, $3, $4)`,
              values: [groupId, event.eventId, event.key, event.eventType],
            });
            handled += 1;
            if (handled >= count) allHandled();
          },
        }),
  });
  await done;
  // The last handler ran; its transaction (with the inbox rows) commits right after.
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "inbox" WHERE "consumer_group" = $1`, [groupId]);
    if ((rows[0]?.n ?? 0) >= count) break;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const elapsed = performance.now() - first;
  await consumer.stop();
  return elapsed;
}

try {
  log(`consume bench: ${messageCount} × ${messageBytes} B, ${partitions} partitions, brokers ${infra.brokers.join(",")}`);
  await fill(messageCount);
  await baseline(-1, messageCount);
  await subject(-1, messageCount, "batch");
  if (measurePerEvent) await subject(-1, messageCount, "per-event");
  const baselineRounds: number[] = [];
  const subjectRounds: number[] = [];
  const perEventRounds: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    baselineRounds.push(await baseline(round, messageCount));
    subjectRounds.push(await subject(round, messageCount, "batch"));
    if (measurePerEvent) perEventRounds.push(await subject(round, messageCount, "per-event"));
    log(
      `round ${round + 1}: raw ${rate(messageCount, baselineRounds[round] ?? 0)} msg/s, ` +
        `idempotent handleBatch ${rate(messageCount, subjectRounds[round] ?? 0)} msg/s` +
        (measurePerEvent ? `, idempotent handle (one INSERT per event) ${rate(messageCount, perEventRounds[round] ?? 0)} msg/s` : ""),
    );
  }
  const baselineMs = median(baselineRounds);
  const subjectMs = median(subjectRounds);
  const perEventRate = measurePerEvent ? rate(messageCount, median(perEventRounds)) : undefined;
  const baselineRate = rate(messageCount, baselineMs);
  const subjectRate = rate(messageCount, subjectMs);
  console.log(
    JSON.stringify({
      bench: "consume",
      subject: {
        name: "idempotent consumer (handleBatch), one effect row per event",
        rounds,
        messages: messageCount,
        messageBytes,
        partitions,
        ms: Math.round(subjectMs),
        msgPerSec: subjectRate,
        ...(perEventRate === undefined
          ? {}
          : { perEventHandler: { msgPerSec: perEventRate, ratio: Number((perEventRate / baselineRate).toFixed(3)) } }),
        roundMsgPerSec: subjectRounds.map((ms) => rate(messageCount, ms)),
      },
      baseline: {
        name: "kafkajs eachBatch, raw",
        rounds,
        messages: messageCount,
        messageBytes,
        partitions,
        ms: Math.round(baselineMs),
        msgPerSec: baselineRate,
        roundMsgPerSec: baselineRounds.map((ms) => rate(messageCount, ms)),
      },
      // The median of the per-round ratios: each round pairs the two under the same machine load.
      ratio: Number(median(subjectRounds.map((ms, i) => (baselineRounds[i] ?? 0) / ms)).toFixed(3)),
      goal: 0.5,
    }),
  );
} finally {
  await infra.close();
}
