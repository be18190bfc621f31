/**
 * A poison outbox row does not stop publishing (issue 8, point 7): a row the broker refuses for
 * good is quarantined with its reason and counted, later rows of its key wait behind it, and every
 * other row — in the same batch and after it — is published. Released after the fix, the row and
 * the rows held behind it go out in order.
 */
import { create, fromBinary } from "@bufbuild/protobuf";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { OrderCancelledSchema } from "@tributary/contracts/order/v1/order_events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendToOutbox, listQuarantinedOutboxRows, releaseQuarantinedOutboxRows, startOutboxRelay } from "../src/index.js";
import { appendCancellations, createTestTopic, eventually, newTestTopic, readAll, testKafka, testPool, type TestTopic } from "./support.js";

const pool = testPool();
const kafka = testKafka();
beforeAll(async () => {
  // Rows other test files left unpublished (or quarantined) must not hold up this file's relays.
  await pool.query(`UPDATE "outbox" SET "published_at" = now() WHERE "published_at" IS NULL`);
});
afterAll(async () => {
  await pool.end();
});

class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

async function quarantinedCount(reader: CollectingReader): Promise<number> {
  const { resourceMetrics } = await reader.collect();
  let total = 0;
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== "tributary.outbox.quarantined") continue;
      for (const point of metric.dataPoints) total += Number(point.value);
    }
  }
  return total;
}

async function state(eventId: string): Promise<{ published: boolean; quarantined: boolean } | undefined> {
  const { rows } = await pool.query<{ published: boolean; quarantined: boolean }>(
    `SELECT "published_at" IS NOT NULL AS published, "quarantined_at" IS NOT NULL AS quarantined FROM "outbox" WHERE "event_id" = $1`,
    [eventId],
  );
  return rows[0];
}

async function reasons(topic: TestTopic): Promise<{ key: string; reason: string }[]> {
  return (await readAll(kafka, topic.name)).map((m) => ({
    key: m.key,
    reason: fromBinary(OrderCancelledSchema, m.value ?? new Uint8Array()).reason,
  }));
}

const big = "x".repeat(5_000);

describe("a poison outbox row", () => {
  it("is quarantined with its reason while every other row publishes, and its key's later rows wait", async () => {
    const topic = newTestTopic("poison");
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: topic.name, numPartitions: 1, configEntries: [{ name: "max.message.bytes", value: "2048" }] }],
      });
    } finally {
      await admin.disconnect();
    }
    // One transaction: k1, the poison (k2, too large for the topic), k2's next event, k3, k1 again.
    const tx = await pool.connect();
    let ids: string[];
    try {
      await tx.query("BEGIN");
      ids = await appendToOutbox(
        tx,
        "events-test",
        topic,
        [
          ["order-k1", "1"],
          ["order-k2", big],
          ["order-k2", "3"],
          ["order-k3", "4"],
          ["order-k1", "5"],
        ].map(([key = "", reason = ""]) => ({ key, schema: OrderCancelledSchema, message: create(OrderCancelledSchema, { orderId: key, reason }) })),
      );
      await tx.query("COMMIT");
    } finally {
      tx.release();
    }
    const [k1a = "", poison = "", k2held = "", k3 = "", k1b = ""] = ids;

    const reader = new CollectingReader();
    const meter = new MeterProvider({ readers: [reader] }).getMeter("test");
    const relay = await startOutboxRelay({ pool, kafka, producerName: "events-test", pollIntervalMs: 100, retryDelayMs: 200, meter });
    try {
      await eventually(async () => ((await state(poison))?.quarantined === true ? true : undefined), "the poison row quarantined", 30_000);
      await eventually(
        async () => ((await Promise.all([k1a, k3, k1b].map(state))).every((s) => s?.published === true) ? true : undefined),
        "the other keys' rows published",
        30_000,
      );
      // The next transaction's rows flow too.
      const [later = ""] = await appendCancellations(pool, topic, [{ key: "order-k3", seq: 6 }]);
      await eventually(async () => ((await state(later))?.published === true ? true : undefined), "a later row published", 30_000);

      expect(await state(poison)).toEqual({ published: false, quarantined: true });
      // Held behind the poison, neither published nor quarantined itself.
      expect(await state(k2held)).toEqual({ published: false, quarantined: false });
      expect(await quarantinedCount(reader)).toBe(1);
      const listed = await listQuarantinedOutboxRows(pool);
      expect(listed.filter((row) => row.topic === topic.name)).toEqual([
        expect.objectContaining({ eventId: poison, messageKey: "order-k2", reason: expect.stringMatching(/MESSAGE_TOO_LARGE/), heldCount: 1 }),
      ]);
      expect((await reasons(topic)).filter((m) => m.reason !== big)).toEqual([
        { key: "order-k1", reason: "1" },
        { key: "order-k3", reason: "4" },
        { key: "order-k1", reason: "5" },
        { key: "order-k3", reason: "6" },
      ]);

      // The fix: the topic accepts larger messages. Released, the poison and the row behind it go out in order.
      const alter = kafka.admin();
      await alter.connect();
      try {
        await alter.alterConfigs({
          validateOnly: false,
          resources: [{ type: 2, name: topic.name, configEntries: [{ name: "max.message.bytes", value: "1048588" }] }],
        });
      } finally {
        await alter.disconnect();
      }
      expect(await releaseQuarantinedOutboxRows(pool, { eventIds: [poison] })).toEqual([poison]);
      await eventually(
        async () => ((await Promise.all([poison, k2held].map(state))).every((s) => s?.published === true) ? true : undefined),
        "the released row and the held one published",
        30_000,
      );
    } finally {
      await relay.stop();
    }
    const k2 = (await reasons(topic)).filter((m) => m.key === "order-k2").map((m) => (m.reason === big ? "big" : m.reason));
    expect(k2).toEqual(["big", "3"]);
  });

  it("quarantines the rows of a topic the broker does not have, and keeps publishing the others", async () => {
    const missing = newTestTopic("missing");
    const present = newTestTopic("present");
    await createTestTopic(kafka, present, 1);
    const [lost = ""] = await appendCancellations(pool, missing, [{ key: "order-m", seq: 1 }]);
    const [kept = ""] = await appendCancellations(pool, present, [{ key: "order-p", seq: 2 }]);
    const relay = await startOutboxRelay({ pool, kafka, producerName: "events-test", pollIntervalMs: 100, retryDelayMs: 200 });
    try {
      await eventually(async () => ((await state(kept))?.published === true ? true : undefined), "the present topic's row published", 30_000);
      await eventually(async () => ((await state(lost))?.quarantined === true ? true : undefined), "the missing topic's row quarantined", 30_000);
      const listed = (await listQuarantinedOutboxRows(pool)).filter((row) => row.eventId === lost);
      expect(listed).toEqual([expect.objectContaining({ reason: expect.stringMatching(/UNKNOWN_TOPIC_OR_PARTITION.*missing/) })]);
      // Created, then released: published.
      await createTestTopic(kafka, missing, 1);
      await releaseQuarantinedOutboxRows(pool, { eventIds: [lost] });
      await eventually(async () => ((await state(lost))?.published === true ? true : undefined), "the released row published", 30_000);
    } finally {
      await relay.stop();
    }
  });
});
