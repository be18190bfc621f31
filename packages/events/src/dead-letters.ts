import type { IHeaders, Kafka } from "kafkajs";
import { deadLetterHeaderNames, isDeadLetterHeader } from "./dead-letter-headers.js";
import { envelopeHeaderNames, kafkaHeadersToRecord } from "./envelope-headers.js";
import { createIdempotentProducer } from "./idempotent-producer.js";
import { newEventId } from "./new-event-id.js";

/** One message on a `<topic>.dlq`, with what the consumer said about it. */
export interface DeadLetter {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The headers as received, including the original envelope and the `dlq-*` ones. */
  readonly rawHeaders: IHeaders;
  readonly headers: Readonly<Record<string, string>>;
  /** The envelope's event id, if the original had one. */
  readonly eventId: string | undefined;
  readonly eventType: string | undefined;
  readonly reason: string;
  readonly consumerGroup: string;
  readonly attempts: number;
  readonly originalTopic: string;
  readonly originalPartition: string;
  readonly originalOffset: string;
  readonly failedAt: string;
}

/**
 * Reads every message currently on a dead-letter topic, from the earliest offset up to the high
 * watermark at the time of the call, with a throwaway consumer group that is deleted afterwards.
 * Operators list dead letters with it (`dead-letters list`) before replaying them.
 */
export async function listDeadLetters(kafka: Kafka, deadLetterTopic: string): Promise<DeadLetter[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(deadLetterTopic);
    const remaining = new Map<number, bigint>();
    for (const o of offsets) {
      if (BigInt(o.high) > BigInt(o.low)) remaining.set(o.partition, BigInt(o.high) - 1n);
    }
    if (remaining.size === 0) return [];
    const groupId = `tributary-dead-letters-${newEventId()}`;
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 200 });
    const letters: DeadLetter[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: deadLetterTopic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ partition, message }) => {
              const last = remaining.get(partition);
              if (last === undefined || BigInt(message.offset) > last) return;
              letters.push(toDeadLetter(partition, message.offset, message.key, message.value, message.headers ?? {}));
              if (BigInt(message.offset) === last) remaining.delete(partition);
              if (remaining.size === 0) resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return letters.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  } finally {
    await admin.disconnect();
  }
}

/** Which dead letters to replay: all of them, or those of one event. */
export interface ReplayDeadLettersOptions {
  readonly eventId?: string;
}

/**
 * Republishes dead letters to the topic they came from, with their original key, bytes and
 * envelope headers (the `dlq-*` headers are stripped), through the idempotent producer. Run it
 * after the fix is deployed; the consumers' inbox makes a repeated replay harmless.
 * Returns the letters it republished.
 */
export async function replayDeadLetters(
  kafka: Kafka,
  deadLetterTopic: string,
  options: ReplayDeadLettersOptions = {},
): Promise<DeadLetter[]> {
  const letters = (await listDeadLetters(kafka, deadLetterTopic)).filter(
    (letter) => options.eventId === undefined || letter.eventId === options.eventId.toLowerCase(),
  );
  if (letters.length === 0) return [];
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  try {
    const byTopic = new Map<string, { key: Buffer | null; value: Buffer | null; headers: IHeaders }[]>();
    for (const letter of letters) {
      const headers: IHeaders = {};
      for (const [name, value] of Object.entries(letter.rawHeaders)) {
        if (!isDeadLetterHeader(name) && value !== undefined) headers[name] = value;
      }
      const messages = byTopic.get(letter.originalTopic) ?? [];
      messages.push({ key: letter.key, value: letter.value, headers });
      byTopic.set(letter.originalTopic, messages);
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  } finally {
    await producer.disconnect();
  }
  return letters;
}

function toDeadLetter(
  partition: number,
  offset: string,
  key: Buffer | null,
  value: Buffer | null,
  rawHeaders: IHeaders,
): DeadLetter {
  const headers = kafkaHeadersToRecord(rawHeaders);
  const d = deadLetterHeaderNames;
  return {
    partition,
    offset,
    key,
    value,
    rawHeaders,
    headers,
    eventId: headers[envelopeHeaderNames.eventId]?.toLowerCase(),
    eventType: headers[envelopeHeaderNames.eventType],
    reason: headers[d.reason] ?? "",
    consumerGroup: headers[d.consumerGroup] ?? "",
    attempts: Number.parseInt(headers[d.attempts] ?? "0", 10),
    originalTopic: headers[d.originalTopic] ?? deadLetterTopicSource(headers),
    originalPartition: headers[d.originalPartition] ?? "",
    originalOffset: headers[d.originalOffset] ?? "",
    failedAt: headers[d.failedAt] ?? "",
  };
}

/** A dead letter without its origin header cannot be replayed; that is a broken invariant. */
function deadLetterTopicSource(headers: Readonly<Record<string, string>>): string {
  throw new Error(`dead letter without ${deadLetterHeaderNames.originalTopic} header: ${JSON.stringify(headers)}`);
}
