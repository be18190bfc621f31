import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { testKafkaBrokers } from "@tributary/testkit/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdempotentConsumer, startOutboxRelay } from "../src/index.js";
import {
  appendCancellations,
  createTestTopic,
  effects,
  eventsDatabaseUrl,
  eventually,
  newTestTopic,
  randomUUID,
  readAll,
  recordEffect,
  testKafka,
  testPool,
} from "./support.js";

const fixture = fileURLToPath(new URL("./fixtures/relay-process.ts", import.meta.url));
// `node --import tsx` rather than the tsx CLI: the CLI runs the script in a child process, and a
// SIGKILL of the CLI would leave the relay itself running.
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const started = new Set<ChildProcessWithoutNullStreams>();

const pool = testPool();
const kafka = testKafka();
afterAll(async () => {
  for (const child of started) child.kill("SIGKILL");
  await pool.end();
});
beforeAll(async () => {
  // Rows other test files left unpublished must not hold up this file's relays.
  await pool.query(`UPDATE "outbox" SET "published_at" = now() WHERE "published_at" IS NULL`);
});

/** Starts the relay fixture in its own process and waits for the line that says it paused. */
async function startPausedRelay(pause: "before-send" | "after-send"): Promise<{ child: ChildProcessWithoutNullStreams; paused: string[] }> {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=source", fixture], {
    cwd: repoRoot,
    env: {
      ...process.env,
      EVENTS_DATABASE_URL: eventsDatabaseUrl(),
      KAFKA_BROKERS: testKafkaBrokers().join(","),
      RELAY_PAUSE: pause,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  started.add(child);
  child.once("exit", () => started.delete(child));
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const paused = await new Promise<string[]>((resolve, reject) => {
    lines.on("line", (line) => {
      if (line.startsWith("PAUSED ")) resolve(line.slice("PAUSED ".length).split(","));
    });
    child.on("exit", (code) => reject(new Error(`relay fixture exited with ${code}: ${stderr}`)));
  });
  return { child, paused };
}

async function kill(child: ChildProcessWithoutNullStreams): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

describe.each(["after-send", "before-send"] as const)("relay killed %s (SIGKILL of a real process)", (pause) => {
  it("delivers the committed event after restart, and its effect happens exactly once", async () => {
    const topic = newTestTopic(`crash-${pause}`);
    await createTestTopic(kafka, topic, 1);
    const groupId = `crash-${randomUUID()}`;
    const consumer = await startIdempotentConsumer({
      kafka,
      pool,
      groupId,
      topic,
      handle: (event, tx) => recordEffect(groupId, event, tx),
    });
    try {
      const [eventId] = await appendCancellations(pool, topic, [{ key: "order-1", seq: 1 }]);
      const { child, paused } = await startPausedRelay(pause);
      expect(paused).toContain(eventId);
      await kill(child);
      expect(child.signalCode).toBe("SIGKILL");

      const { rows } = await pool.query(`SELECT "published_at" FROM "outbox" WHERE "event_id" = $1`, [eventId]);
      expect(rows).toEqual([{ published_at: null }]);

      const relay = await startOutboxRelay({ pool, kafka, producerName: "restarted", pollIntervalMs: 200 });
      try {
        await eventually(async () => ((await effects(pool, groupId)).length > 0 ? true : undefined), "the effect");
        await eventually(async () => {
          const { rows: marked } = await pool.query(`SELECT 1 FROM "outbox" WHERE "event_id" = $1 AND "published_at" IS NOT NULL`, [eventId]);
          return marked.length === 1 ? true : undefined;
        }, "the row marked published");
      } finally {
        await relay.stop();
      }
      const onKafka = await readAll(kafka, topic.name);
      // Killed after the ack, the event went out twice; killed before the send, once.
      expect(onKafka.filter((m) => m.headers["event-id"] === eventId)).toHaveLength(pause === "after-send" ? 2 : 1);
      // Wait until the consumer has passed every copy, then count the effect.
      await eventually(async () => {
        const { rows: committed } = await pool.query(`SELECT count(*)::int AS n FROM "inbox" WHERE "consumer_group" = $1`, [groupId]);
        return committed[0]?.n === 1 ? true : undefined;
      }, "the inbox row");
      const admin = kafka.admin();
      await admin.connect();
      await eventually(async () => {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic.name] });
        const end = await admin.fetchTopicOffsets(topic.name);
        return committed?.partitions[0]?.offset === end[0]?.high ? true : undefined;
      }, "the consumer to commit past every copy");
      await admin.disconnect();
      expect(await effects(pool, groupId)).toEqual([{ event_id: eventId, message_key: "order-1", note: "1" }]);
    } finally {
      await consumer.stop();
    }
  });
});
