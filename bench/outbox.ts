/**
 * `npm run bench -- outbox`: the outbox relay's publish rate against a raw kafkajs baseline in the
 * same run, on the same broker, with the same message count, size, keys, headers and batch size.
 * - baseline: the idempotent kafkajs producer (acks=all, one request in flight) sending batches
 *   of BENCH_BATCH messages with `sendBatch`, back to back.
 * - subject: BENCH_MESSAGES rows committed to the outbox in one transaction, then the running
 *   relay (woken by NOTIFY) publishing them in batches of BENCH_BATCH and marking them published;
 *   timed from the commit until no row is left unpublished.
 * BENCH_ROUNDS (5) interleaved rounds; `ratio` is the median of the per-round ratios.
 * Last stdout line: `{"bench":"outbox","subject":{…},"baseline":{…},"ratio":subject/baseline}`
 * (goal ≥ 0.7). Infra: see bench/_events-infra.ts.
 */
import { appendToOutbox, createIdempotentProducer, ensureTopics, startOutboxRelay } from "@tributary/events";
import { OrderCancelledSchema } from "@tributary/contracts/order/v1/order_events";
import { createLogger } from "@tributary/telemetry";
import type pg from "pg";
import {
  batchSize,
  benchTopic,
  envelopedMessage,
  keyCount,
  log,
  messageBytes,
  median,
  messageCount,
  partitions,
  rate,
  rounds,
  sizedCancellation,
  startInfra,
} from "./_events-infra.js";

const infra = await startInfra();
const { kafka, pool } = infra;

async function baseline(count: number): Promise<number> {
  const topic = benchTopic("raw-produce");
  await ensureTopics(kafka, [topic], { numPartitions: partitions });
  const messages = Array.from({ length: count }, (_, i) => envelopedMessage(i));
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const started = performance.now();
  for (let i = 0; i < count; i += batchSize) {
    await producer.sendBatch({ acks: -1, topicMessages: [{ topic: topic.name, messages: messages.slice(i, i + batchSize) }] });
  }
  const elapsed = performance.now() - started;
  await producer.disconnect();
  return elapsed;
}

async function unpublished(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "outbox" WHERE "published_at" IS NULL`);
  return rows[0]?.n ?? -1;
}

async function subject(count: number): Promise<number> {
  const topic = benchTopic("relay");
  await ensureTopics(kafka, [topic], { numPartitions: partitions });
  let acked = 0;
  let allAcked: () => void = () => undefined;
  const acknowledged = new Promise<void>((resolve) => (allAcked = resolve));
  const relay = await startOutboxRelay({
    pool,
    kafka,
    producerName: "bench",
    batchSize,
    pollIntervalMs: 60_000,
    logger: createLogger({ serviceName: "bench", level: "warn" }),
    afterSend: async (eventIds) => {
      acked += eventIds.length;
      if (acked >= count) allAcked();
    },
  });
  try {
    const tx = await pool.connect();
    await tx.query("BEGIN");
    for (let i = 0; i < count; i += 2_000) {
      const events = Array.from({ length: Math.min(2_000, count - i) }, (_, j) => {
        const key = `order-${(i + j) % keyCount}`;
        return { key, schema: OrderCancelledSchema, message: sizedCancellation(key) };
      });
      await appendToOutbox(tx, "bench", topic, events);
    }
    await tx.query("COMMIT");
    tx.release();
    const started = performance.now();
    // Acknowledged by Kafka, then marked: the last mark is part of the relay's work.
    await acknowledged;
    while ((await unpublished(pool)) > 0) await new Promise((resolve) => setTimeout(resolve, 2));
    return performance.now() - started;
  } finally {
    await relay.stop();
  }
}

try {
  const warmup = Math.min(2_000, messageCount);
  log(`outbox bench: ${messageCount} × ${messageBytes} B, batch ${batchSize}, ${partitions} partitions, brokers ${infra.brokers.join(",")}`);
  await baseline(warmup);
  await subject(warmup);
  // Interleaved rounds, median of each: the machine is shared, so a one-off stall hits one round.
  const baselineRounds: number[] = [];
  const subjectRounds: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    baselineRounds.push(await baseline(messageCount));
    subjectRounds.push(await subject(messageCount));
    log(
      `round ${round + 1}: baseline ${rate(messageCount, baselineRounds[round] ?? 0)} msg/s, ` +
        `relay ${rate(messageCount, subjectRounds[round] ?? 0)} msg/s`,
    );
  }
  const baselineMs = median(baselineRounds);
  const subjectMs = median(subjectRounds);
  const baselineRate = rate(messageCount, baselineMs);
  const subjectRate = rate(messageCount, subjectMs);
  console.log(
    JSON.stringify({
      bench: "outbox",
      subject: { name: "outbox relay", rounds, messages: messageCount, messageBytes, batchSize, ms: Math.round(subjectMs), msgPerSec: subjectRate },
      baseline: { name: "kafkajs idempotent sendBatch acks=all", rounds, messages: messageCount, messageBytes, batchSize, ms: Math.round(baselineMs), msgPerSec: baselineRate },
      // The median of the per-round ratios: each round pairs the two under the same machine load.
      ratio: Number(median(subjectRounds.map((ms, i) => (baselineRounds[i] ?? 0) / ms)).toFixed(3)),
      goal: 0.7,
    }),
  );
} finally {
  await infra.close();
}
