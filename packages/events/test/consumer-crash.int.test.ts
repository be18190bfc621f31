import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { testKafkaBrokers } from "@tributary/testkit/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIdempotentProducer, startIdempotentConsumer } from "../src/index.js";
import { caughtUp, cancellation, produce } from "./consumer-support.js";
import { createTestTopic, effects, eventsDatabaseUrl, eventually, newTestTopic, randomUUID, recordEffect, testKafka, testPool } from "./support.js";

const fixture = fileURLToPath(new URL("./fixtures/consumer-process.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const started = new Set<ChildProcessWithoutNullStreams>();
const pool = testPool();
const kafka = testKafka();
const producer = createIdempotentProducer(kafka);

beforeAll(async () => {
  await producer.connect();
});
afterAll(async () => {
  for (const child of started) child.kill("SIGKILL");
  await producer.disconnect();
  await pool.end();
});

describe("idempotent consumer killed mid-pipeline (SIGKILL of a real process)", () => {
  it("never commits an offset ahead of its effect: after the kill and a restart every event applies exactly once, in key order", async () => {
    const topic = newTestTopic("consumer-crash");
    await createTestTopic(kafka, topic, 1);
    const groupId = `consumer-crash-${randomUUID()}`;
    const keys = ["order-a", "order-b", "order-c"];
    const messages = Array.from({ length: 30 }, (_, seq) => cancellation(keys[seq % keys.length] ?? "", String(seq)));
    // The first batch applies and commits; the second stalls at its first event, inside the
    // transaction of its first chunk, while kafkajs goes on fetching behind it.
    const stallAt = 12;
    await produce(producer, topic, messages.slice(0, stallAt));

    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=source", fixture], {
      cwd: repoRoot,
      env: {
        ...process.env,
        EVENTS_DATABASE_URL: eventsDatabaseUrl(),
        KAFKA_BROKERS: testKafkaBrokers().join(","),
        TOPIC: topic.name,
        GROUP: groupId,
        STALL_NOTE: String(stallAt),
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    started.add(child);
    child.once("exit", () => started.delete(child));
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    let handedUpTo = -1;
    let fetches = 0;
    let stalled = false;
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line === "STALLED") stalled = true;
      if (line === "FETCHED") fetches += 1;
      if (line.startsWith("HANDED ")) handedUpTo = Math.max(handedUpTo, Number(line.slice("HANDED ".length)));
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const admin = kafka.admin();
    await admin.connect();
    // The group's committed offset; asked again while the coordinator is still loading the group.
    const committedOffset = (): Promise<number> =>
      eventually(async () => {
        try {
          const [committed] = await admin.fetchOffsets({ groupId, topics: [topic.name] });
          return Number(committed?.partitions[0]?.offset ?? "-1");
        } catch {
          return undefined;
        }
      }, "the committed offset");
    await eventually(async () => ((await committedOffset()) === stallAt ? true : undefined), `the first batch committed (stderr: ${stderr})`);

    await produce(producer, topic, messages.slice(stallAt));
    await eventually(async () => (stalled && handedUpTo >= stallAt ? true : undefined), `the stall (stderr: ${stderr})`);
    // kafkajs has handed the stalled batch over and fetched again: had it committed its fetch
    // position (as autoCommit would, right after eachBatch), Kafka would now hold an offset past
    // the stalled event, and the kill below would lose it.
    const fetchesAtHandOver = fetches;
    await eventually(async () => (fetches > fetchesAtHandOver ? true : undefined), "a fetch after the hand-over");
    expect(await committedOffset()).toBe(stallAt);
    child.kill("SIGKILL");
    await exited;
    expect(child.signalCode).toBe("SIGKILL");
    expect(await committedOffset()).toBe(stallAt);
    await admin.disconnect();
    // What the killed process committed is there once; the stalled chunk rolled back with its connection.
    expect((await effects(pool, groupId)).map((e) => Number(e.note))).toEqual(Array.from({ length: stallAt }, (_, i) => i));

    const consumer = await startIdempotentConsumer({
      kafka,
      pool,
      groupId,
      topic,
      chunkSize: 2,
      handle: (event, tx) => recordEffect(groupId, event, tx),
    });
    try {
      await caughtUp(kafka, groupId, topic);
    } finally {
      await consumer.stop();
    }
    const applied = await effects(pool, groupId);
    // Nothing lost, nothing doubled.
    expect(applied.map((e) => e.event_id).sort()).toEqual(messages.map((m) => m.eventId).sort());
    for (const key of keys) {
      const notes = applied.filter((e) => e.message_key === key).map((e) => Number(e.note));
      expect(notes).toEqual([...notes].sort((a, b) => a - b));
    }
  });
});
