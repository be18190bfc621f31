/**
 * `npm run bench -- outbox`: the outbox relay's publish rate against a raw kafkajs baseline in the
 * same run, on the same broker, with the same message size, keys, headers and batch size.
 * - baseline: the idempotent kafkajs producer (acks=all, one request in flight) sending batches
 *   of BENCH_BATCH messages with `sendBatch`, back to back.
 * - subject: the round's rows committed to the outbox in one transaction, then the running relay
 *   (woken by NOTIFY) publishing them in batches of BENCH_BATCH and marking them published;
 *   timed from the commit until no row is left unpublished.
 * Rounds: a warm-up of BENCH_WARMUP_MESSAGES (20k) per side measures each side's rate; each side's
 * rounds then carry as many messages as it sends in BENCH_ROUND_SECONDS (5 s), BENCH_ROUNDS (5)
 * alternating rounds. `ratio` is the median of the per-round rate ratios; stderr and the JSON give
 * each side's rounds, median and spread (bench/_rounds.ts). Last stdout line:
 * `{"bench":"outbox","subject":{…},"baseline":{…},"ratio":…,"goal":0.7,"spread":{…},"agreed":…}`.
 * Infra: see bench/_events-infra.ts.
 *
 * Results on the 2-core machine, 2026-12-01, five runs after outbox_pending_idx: ratio 0.683, 0.737,
 * 0.669, 0.710, 0.645 — median 0.683 (0.645–0.737); before that index the relay slowed round after
 * round (≈ 6k → 2k msg/s, median 0.192). README.md, "Benchmarks".
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
  maxRoundMessages,
  messageBytes,
  partitions,
  rate,
  sizedCancellation,
  startInfra,
  warmupMessages,
} from "./_events-infra.js";
import { describeSpread, log, pairedRatios, roundCount, roundSeconds, sizeRound, spreadOf } from "./_rounds.js";

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
  log(`outbox bench: ${messageBytes} B messages, batch ${batchSize}, ${partitions} partitions, rounds of ~${roundSeconds} s, brokers ${infra.brokers.join(",")}`);
  // Warm-up (JIT, connections, plan caches), and the rates that size each side's rounds.
  await baseline(Math.min(2_000, warmupMessages));
  await subject(Math.min(2_000, warmupMessages));
  const baselineCount = sizeRound(rate(warmupMessages, await baseline(warmupMessages)), warmupMessages, maxRoundMessages);
  const subjectCount = sizeRound(rate(warmupMessages, await subject(warmupMessages)), warmupMessages, maxRoundMessages);
  log(`warm-up sized the rounds: baseline ${baselineCount} messages, relay ${subjectCount} messages`);
  // Interleaved rounds, median of each: the machine is shared, so load falls on both sides alike.
  const baselineRates: number[] = [];
  const subjectRates: number[] = [];
  for (let round = 0; round < roundCount; round += 1) {
    const baselineMs = await baseline(baselineCount);
    const subjectMs = await subject(subjectCount);
    baselineRates.push(rate(baselineCount, baselineMs));
    subjectRates.push(rate(subjectCount, subjectMs));
    log(
      `round ${round + 1}: baseline ${baselineRates[round]} msg/s (${(baselineMs / 1000).toFixed(1)} s), ` +
        `relay ${subjectRates[round]} msg/s (${(subjectMs / 1000).toFixed(1)} s)`,
    );
  }
  const baselineSpread = spreadOf(baselineRates);
  const subjectSpread = spreadOf(subjectRates);
  const ratioSpread = spreadOf(pairedRatios(subjectRates, baselineRates), 3);
  log(describeSpread("kafkajs sendBatch", baselineSpread, "msg/s"));
  log(describeSpread("outbox relay", subjectSpread, "msg/s"));
  log(describeSpread("ratio", ratioSpread, "×"));
  console.log(
    JSON.stringify({
      bench: "outbox",
      subject: { name: "outbox relay", rounds: roundCount, messages: subjectCount, messageBytes, batchSize, msgPerSec: subjectSpread.median, roundMsgPerSec: subjectRates },
      baseline: { name: "kafkajs idempotent sendBatch acks=all", rounds: roundCount, messages: baselineCount, messageBytes, batchSize, msgPerSec: baselineSpread.median, roundMsgPerSec: baselineRates },
      // The median of the per-round ratios: each round pairs the two under the same machine load.
      ratio: ratioSpread.median,
      goal: 0.7,
      spread: { baseline: baselineSpread, subject: subjectSpread, ratio: ratioSpread },
      agreed: baselineSpread.agreed && subjectSpread.agreed && ratioSpread.agreed,
    }),
  );
} finally {
  await infra.close();
}
