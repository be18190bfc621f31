/**
 * Every service database gets the outbox and inbox from the events package's shared-tables folder.
 * The schema-drift test checks the tables against the shared schema; this checks what Prisma cannot model: that the
 * service's migrated outbox wakes the relay on commit (the NOTIFY trigger), and that its inbox
 * refuses a second row for the same event.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { ordersTopic } from "@tributary/contracts";
import { OrderCancelledSchema } from "@tributary/contracts/order/v1/order_events";
import { findServiceDatabases } from "@tributary/local-postgres";
import { testDatabaseUrl } from "@tributary/testkit/vitest";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { appendToOutbox, newEventId } from "../src/index.js";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");

async function hasOutbox(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'outbox'");
  return rows.length === 1;
}

describe("each service's copy of the outbox and inbox", async () => {
  const services = (await findServiceDatabases(repoRoot)).filter((service) => !service.testOnly);

  it("covers at least one service", () => {
    expect(services.length).toBeGreaterThan(0);
  });

  it.each(services.map((service) => [service.database] as const))("%s: NOTIFY on commit, one inbox row per event", async (database) => {
    const listener = new pg.Client({ connectionString: testDatabaseUrl(database) });
    const writer = new pg.Client({ connectionString: testDatabaseUrl(database) });
    await Promise.all([listener.connect(), writer.connect()]);
    try {
      expect(await hasOutbox(writer)).toBe(true);
      // A deadline for waiting, not a timing assertion: without the trigger no NOTIFY ever comes.
      const notified = new Promise<string>((resolveNotified, rejectNotified) => {
        const timer = setTimeout(() => rejectNotified(new Error("no NOTIFY on outbox after commit")), 10_000);
        listener.on("notification", (n) => {
          clearTimeout(timer);
          resolveNotified(n.channel);
        });
      });
      await listener.query("LISTEN outbox");

      await writer.query("BEGIN");
      const [eventId] = await appendToOutbox(writer as unknown as pg.PoolClient, "outbox-table-test", ordersTopic, [
        { key: "order-x", schema: OrderCancelledSchema, message: create(OrderCancelledSchema, { orderId: "order-x" }) },
      ]);
      await writer.query("COMMIT");
      expect(await notified).toBe("outbox");
      // Leave nothing for a relay to publish later.
      await writer.query(`UPDATE "outbox" SET "published_at" = now() WHERE "event_id" = $1`, [eventId]);

      const inboxRow = `INSERT INTO "inbox" ("consumer_group", "event_id", "topic", "partition", "offset") VALUES ('g', $1, 't', 0, 0)`;
      const id = newEventId();
      await writer.query(inboxRow, [id]);
      await expect(writer.query(inboxRow, [id])).rejects.toMatchObject({ code: "23505" });
    } finally {
      await Promise.all([listener.end(), writer.end()]);
    }
  });
});
