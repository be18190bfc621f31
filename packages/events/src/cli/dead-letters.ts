#!/usr/bin/env node
/**
 * Lists, replays and discards dead letters, and lists the keys they park.
 *
 *   npx tsx packages/events/src/cli/dead-letters.ts list    --topic orders.v1.dlq [--brokers host:port]
 *   npx tsx packages/events/src/cli/dead-letters.ts replay  --topic orders.v1.dlq [--event-id <uuid>] [--brokers …]
 *   npx tsx packages/events/src/cli/dead-letters.ts parked  [--group <consumer group>] [--database-url …]
 *   npx tsx packages/events/src/cli/dead-letters.ts discard --group <consumer group> --event-id <uuid> --reason "…" [--by <who>] [--database-url …]
 *
 * Brokers come from `--brokers` or `KAFKA_BROKERS`; the service database (for `parked` and
 * `discard`) from `--database-url` or `DATABASE_URL`. `list` prints one JSON object per dead
 * letter; `replay` republishes them to their original topic and prints what it replayed; `parked`
 * prints one JSON object per parked key; `discard` gives up on a dead letter that parks its key in
 * one consumer group, recording the reason and who (`--by`, else the OS user), and the running
 * consumer then applies the key's parked events.
 */
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { listDeadLetters, replayDeadLetters, type DeadLetter } from "../dead-letters.js";
import { discardDeadLetter, listParkedKeys } from "../discard-dead-letter.js";

const usage = [
  "usage: dead-letters <list|replay> --topic <topic>.dlq [--event-id <uuid>] [--brokers host:port,…]",
  "       dead-letters parked [--group <group>] [--database-url postgres://…]",
  "       dead-letters discard --group <group> --event-id <uuid> --reason <text> [--by <who>] [--database-url postgres://…]",
].join("\n");

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
      group: { type: "string" },
      reason: { type: "string" },
      by: { type: "string" },
      "database-url": { type: "string" },
    },
  });
  const command = positionals[0];
  if (command === "parked" || command === "discard") {
    const databaseUrl = values["database-url"] ?? process.env["DATABASE_URL"];
    if (databaseUrl === undefined || databaseUrl === "") {
      console.error(usage);
      return 2;
    }
    return command === "parked"
      ? parked(databaseUrl, values.group)
      : discard(databaseUrl, values.group, values["event-id"], values.reason, values.by ?? userInfo().username);
  }
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

async function parked(databaseUrl: string, group: string | undefined): Promise<number> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const keys = await listParkedKeys(pool, group === undefined ? {} : { consumerGroup: group });
    for (const key of keys) console.log(JSON.stringify(key));
    console.error(`${keys.length} parked key(s)`);
    return 0;
  } finally {
    await pool.end();
  }
}

async function discard(
  databaseUrl: string,
  group: string | undefined,
  eventId: string | undefined,
  reason: string | undefined,
  by: string,
): Promise<number> {
  if (group === undefined || eventId === undefined || reason === undefined) {
    console.error(usage);
    return 2;
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const result = await discardDeadLetter(pool, { consumerGroup: group, eventId, reason, by });
    if (!result.ok) {
      console.error(JSON.stringify(result.error));
      return 1;
    }
    console.log(JSON.stringify({ discarded: result.value }));
    console.error(`discarded the dead letter of ${eventId}; key ${result.value.key} of ${group} drains`);
    return 0;
  } finally {
    await pool.end();
  }
}

process.env["KAFKAJS_NO_PARTITIONER_WARNING"] ??= "1";
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
