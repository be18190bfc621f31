#!/usr/bin/env node
/**
 * Lists and replays dead letters.
 *
 *   npx tsx packages/events/src/cli/dead-letters.ts list   --topic orders.v1.dlq [--brokers host:port]
 *   npx tsx packages/events/src/cli/dead-letters.ts replay --topic orders.v1.dlq [--event-id <uuid>] [--brokers …]
 *
 * Brokers come from `--brokers` or `KAFKA_BROKERS`. `list` prints one JSON object per dead letter;
 * `replay` republishes them to their original topic and prints what it replayed.
 */
import { parseArgs } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { listDeadLetters, replayDeadLetters, type DeadLetter } from "../dead-letters.js";

const usage = "usage: dead-letters <list|replay> --topic <topic>.dlq [--event-id <uuid>] [--brokers host:port,…]";

function describe(letter: DeadLetter): Record<string, unknown> {
  return {
    partition: letter.partition,
    offset: letter.offset,
    key: letter.key?.toString("utf8") ?? null,
    eventId: letter.eventId ?? null,
    eventType: letter.eventType ?? null,
    reason: letter.reason,
    consumerGroup: letter.consumerGroup,
    attempts: letter.attempts,
    originalTopic: letter.originalTopic,
    originalPartition: letter.originalPartition,
    originalOffset: letter.originalOffset,
    failedAt: letter.failedAt,
    valueBytes: letter.value?.length ?? 0,
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      topic: { type: "string" },
      "event-id": { type: "string" },
      brokers: { type: "string" },
    },
  });
  const command = positionals[0];
  const topic = values.topic;
  const brokers = (values.brokers ?? process.env["KAFKA_BROKERS"] ?? "").split(",").filter((b) => b !== "");
  if ((command !== "list" && command !== "replay") || topic === undefined || brokers.length === 0) {
    console.error(usage);
    return 2;
  }
  if (!topic.endsWith(".dlq")) {
    console.error(`--topic must be a dead-letter topic (<topic>.dlq), got ${topic}`);
    return 2;
  }
  const kafka = new Kafka({ clientId: "tributary-dead-letters", brokers, logLevel: logLevel.WARN });
  if (command === "list") {
    const letters = await listDeadLetters(kafka, topic);
    for (const letter of letters) console.log(JSON.stringify(describe(letter)));
    console.error(`${letters.length} dead letter(s) on ${topic}`);
    return 0;
  }
  const eventId = values["event-id"];
  const replayed = await replayDeadLetters(kafka, topic, eventId === undefined ? {} : { eventId });
  for (const letter of replayed) console.log(JSON.stringify({ replayed: describe(letter) }));
  console.error(`replayed ${replayed.length} dead letter(s) from ${topic}`);
  return replayed.length === 0 && eventId !== undefined ? 1 : 0;
}

process.env["KAFKAJS_NO_PARTITIONER_WARNING"] ??= "1";
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
