import { userInfo } from "node:os";
import Table from "cli-table3";
import { Command } from "commander";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { allTopics } from "@tributary/contracts";
import { discardDeadLetter, listDeadLetters, listParkedKeys, replayDeadLetters, type DeadLetter } from "@tributary/events";
import { brokersFrom, CliError, stackDatabaseUrl } from "../cli-context.js";
import { commandDescriptions } from "./command-descriptions.js";

/** `tributary dlq list|replay|parked|discard`: the dead letters of every topic and the keys they park. */
export function dlqCommand(): Command {
  const dlq = new Command("dlq").description(commandDescriptions.dlq);

  dlq
    .command("list")
    .description("dead letters on one <topic>.dlq, or on every topic's DLQ")
    .option("--topic <topic>", "a dead-letter topic, e.g. orders.v1.dlq (default: all)")
    .option("--brokers <list>", "Kafka bootstrap servers (default: KAFKA_BROKERS, else the running stack's)")
    .option("--json", "one JSON object per dead letter")
    .action(async (options: { topic?: string; brokers?: string; json?: boolean }) => {
      const kafka = kafkaFor(options.brokers);
      const topics = options.topic === undefined ? allTopics.map((topic) => `${topic.name}.dlq`) : [deadLetterTopic(options.topic)];
      const letters: DeadLetter[] = [];
      for (const topic of topics) letters.push(...(await listDeadLetters(kafka, topic)));
      if (options.json === true) {
        for (const letter of letters) console.log(JSON.stringify(describeLetter(letter)));
        return;
      }
      const table = new Table({ head: ["topic", "offset", "key", "event type", "group", "reason", "failed at"] });
      for (const letter of letters) {
        table.push([letter.originalTopic, `${letter.partition}:${letter.offset}`, letter.key?.toString("utf8") ?? "", letter.eventType ?? "", letter.consumerGroup, letter.reason, letter.failedAt]);
      }
      console.log(letters.length === 0 ? `no dead letters on ${topics.length} DLQ topic(s)` : table.toString());
    });

  dlq
    .command("replay")
    .description("republish dead letters to their original topic (all on the topic, or one event)")
    .requiredOption("--topic <topic>", "the dead-letter topic, e.g. payments.v1.dlq")
    .option("--event-id <uuid>", "only this event")
    .option("--brokers <list>", "Kafka bootstrap servers (default: KAFKA_BROKERS, else the running stack's)")
    .action(async (options: { topic: string; eventId?: string; brokers?: string }) => {
      const replayed = await replayDeadLetters(kafkaFor(options.brokers), deadLetterTopic(options.topic), options.eventId === undefined ? {} : { eventId: options.eventId });
      for (const letter of replayed) console.log(JSON.stringify({ replayed: describeLetter(letter) }));
      console.error(`replayed ${replayed.length} dead letter(s) from ${options.topic}`);
      if (replayed.length === 0 && options.eventId !== undefined) throw new CliError(`no dead letter of event ${options.eventId} on ${options.topic}`, 1);
    });

  dlq
    .command("parked")
    .description("keys parked behind a dead letter in one service's consumers")
    .requiredOption("--service <name>", "the service whose database holds its consumers' parked keys (order, payment_routing, …)")
    .option("--group <group>", "only this consumer group")
    .option("--database-url <url>", "the service database (default: the running stack's)")
    .option("--json", "one JSON object per parked key")
    .action(async (options: { service: string; group?: string; databaseUrl?: string; json?: boolean }) => {
      await withPool(stackDatabaseUrl(options.service, options.databaseUrl), async (pool) => {
        const keys = await listParkedKeys(pool, options.group === undefined ? {} : { consumerGroup: options.group });
        if (options.json === true) {
          for (const key of keys) console.log(JSON.stringify(key));
          return;
        }
        console.log(keys.length === 0 ? "no parked keys" : keys.map((key) => JSON.stringify(key)).join("\n"));
      });
    });

  dlq
    .command("discard")
    .description("give up on the dead letter that parks a key, with a reason; the key's parked events then flow")
    .requiredOption("--service <name>", "the service (order, payment_routing, …)")
    .requiredOption("--group <group>", "the consumer group")
    .requiredOption("--event-id <uuid>", "the dead-lettered event")
    .requiredOption("--reason <text>", "why it is discarded (kept for audit)")
    .option("--by <who>", "who decided (default: the OS user)")
    .option("--database-url <url>", "the service database (default: the running stack's)")
    .action(async (options: { service: string; group: string; eventId: string; reason: string; by?: string; databaseUrl?: string }) => {
      await withPool(stackDatabaseUrl(options.service, options.databaseUrl), async (pool) => {
        const result = await discardDeadLetter(pool, {
          consumerGroup: options.group,
          eventId: options.eventId,
          reason: options.reason,
          by: options.by ?? userInfo().username,
        });
        if (!result.ok) throw new CliError(`not discarded: ${JSON.stringify(result.error)}`, 1);
        console.log(JSON.stringify({ discarded: result.value }));
      });
    });

  return dlq;
}

function kafkaFor(brokers: string | undefined): Kafka {
  return new Kafka({ clientId: "tributary-cli", brokers: brokersFrom(brokers), logLevel: logLevel.WARN });
}

function deadLetterTopic(topic: string): string {
  if (!topic.endsWith(".dlq")) throw new CliError(`--topic must be a dead-letter topic (<topic>.dlq), got ${topic}`, 2);
  return topic;
}

async function withPool(url: string, work: (pool: pg.Pool) => Promise<void>): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await work(pool);
  } finally {
    await pool.end();
  }
}

function describeLetter(letter: DeadLetter): Record<string, unknown> {
  return {
    topic: letter.originalTopic,
    partition: letter.partition,
    offset: letter.offset,
    key: letter.key?.toString("utf8") ?? null,
    eventId: letter.eventId ?? null,
    eventType: letter.eventType ?? null,
    reason: letter.reason,
    consumerGroup: letter.consumerGroup,
    attempts: letter.attempts,
    failedAt: letter.failedAt,
  };
}
