import { OrderPlacedSchema, type OrderAccepted, type OrderRejected } from "@tributary/contracts/order/v1/order_events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startOrderTestEnv, uniqueMerchant, validOrder, type OrderTestEnv } from "./order-test-env.js";

let env: OrderTestEnv;

beforeAll(async () => {
  env = await startOrderTestEnv();
});

afterAll(async () => {
  await env?.stop();
});

/** Waits until the intake has recorded the event in its inbox (so its effect, if any, is committed). */
async function processed(eventId: string): Promise<void> {
  await eventually(async () => {
    const result = await env.pool.query("SELECT 1 FROM inbox WHERE consumer_group = 'order-intake' AND event_id = $1", [eventId]);
    return result.rowCount === 1 ? true : undefined;
  }, `inbox row for ${eventId}`);
}

async function orderCount(merchantId: string): Promise<number> {
  const result = await env.pool.query("SELECT count(*)::int AS n FROM orders WHERE merchant_id = $1", [merchantId]);
  return result.rows[0].n as number;
}

describe("OrderPlaced intake on orders.inbound.v1", () => {
  it("accepts a valid order: stored once, OrderAccepted on orders.v1, a replay changes nothing", async () => {
    const merchant = uniqueMerchant("intake");
    const key = `${merchant}/ref-1`;
    const eventId = await env.publish("orders.inbound.v1", key, OrderPlacedSchema, validOrder(merchant, "ref-1"));
    const accepted = await env.orders.waitFor(
      (r) =>
        r.headers["event-type"] === "tributary.order.v1.OrderAccepted" &&
        (r.message as OrderAccepted).order?.merchantId === merchant,
      "OrderAccepted",
    );
    const order = (accepted.message as OrderAccepted).order!;
    expect(order.merchantOrderRef).toBe("ref-1");
    expect(accepted.key).toBe(order.orderId);
    await processed(eventId);

    // The same event again, and the same order under a new event id: one order, one OrderAccepted.
    await env.publish("orders.inbound.v1", key, OrderPlacedSchema, validOrder(merchant, "ref-1"), eventId);
    const again = await env.publish("orders.inbound.v1", key, OrderPlacedSchema, validOrder(merchant, "ref-1"));
    await processed(again);
    expect(await orderCount(merchant)).toBe(1);
    const outbox = await env.pool.query("SELECT event_type FROM outbox WHERE message_key IN ($1, $2)", [order.orderId, key]);
    expect(outbox.rows.map((r) => r.event_type)).toEqual(["tributary.order.v1.OrderAccepted"]);

    // The gRPC API sees the same order: both entry points share one use case.
    const byRpc = await env.writer.createOrder(validOrder(merchant, "ref-1"));
    expect(byRpc.created).toBe(false);
    expect(byRpc.order?.orderId).toBe(order.orderId);
  });

  it("refuses an invalid order with OrderRejected carrying every reason, and stores nothing", async () => {
    const merchant = uniqueMerchant("reject");
    const bad = validOrder(merchant, "ref-bad");
    bad.total = { currency: "CNY", amountMinor: 1n };
    bad.channel = 0;
    bad.lines[1]!.quantity = -3n;
    const eventId = await env.publish("orders.inbound.v1", `${merchant}/ref-bad`, OrderPlacedSchema, bad);
    const rejected = await env.orders.waitFor(
      (r) => r.headers["event-type"] === "tributary.order.v1.OrderRejected" && r.key === `${merchant}/ref-bad`,
      "OrderRejected",
    );
    const message = rejected.message as OrderRejected;
    expect(message.merchantId).toBe(merchant);
    expect(message.merchantOrderRef).toBe("ref-bad");
    expect(message.reasons.map((r) => r.field).sort()).toEqual(["channel", "lines[1].quantity"]);
    expect(message.reasons.every((r) => r.description.length > 0)).toBe(true);
    await processed(eventId);
    expect(await orderCount(merchant)).toBe(0);
    const outbox = await env.pool.query("SELECT event_type FROM outbox WHERE message_key = $1", [`${merchant}/ref-bad`]);
    expect(outbox.rows.map((r) => r.event_type)).toEqual(["tributary.order.v1.OrderRejected"]);
  });

  it("decides each event of a run on its own: a bad one is rejected alone, a repeat has one effect", async () => {
    const merchant = uniqueMerchant("run");
    const bad = validOrder(merchant, "ref-2");
    bad.channel = 0;
    // Published together, so the intake sees them in one fetch (usually one transaction).
    const eventIds = await Promise.all([
      env.publish("orders.inbound.v1", `${merchant}/ref-1`, OrderPlacedSchema, validOrder(merchant, "ref-1")),
      env.publish("orders.inbound.v1", `${merchant}/ref-2`, OrderPlacedSchema, bad),
      env.publish("orders.inbound.v1", `${merchant}/ref-1`, OrderPlacedSchema, validOrder(merchant, "ref-1")),
      env.publish("orders.inbound.v1", `${merchant}/ref-3`, OrderPlacedSchema, validOrder(merchant, "ref-3")),
    ]);
    for (const eventId of eventIds) await processed(eventId);
    const stored = await env.pool.query("SELECT order_id, merchant_order_ref FROM orders WHERE merchant_id = $1 ORDER BY merchant_order_ref", [
      merchant,
    ]);
    expect(stored.rows.map((r) => r.merchant_order_ref)).toEqual(["ref-1", "ref-3"]);
    const outbox = await env.pool.query(
      `SELECT event_type, message_key FROM outbox
        WHERE message_key = ANY($1::text[]) OR message_key LIKE $2 ORDER BY event_type, message_key`,
      [stored.rows.map((r) => r.order_id as string), `${merchant}/%`],
    );
    expect(outbox.rows.map((r) => r.event_type)).toEqual([
      "tributary.order.v1.OrderAccepted",
      "tributary.order.v1.OrderAccepted",
      "tributary.order.v1.OrderRejected",
    ]);
    expect(outbox.rows[2]?.message_key).toBe(`${merchant}/ref-2`);
  });

  it("refuses a total that does not match the lines, naming total.amount_minor", async () => {
    const merchant = uniqueMerchant("reject-total");
    const bad = validOrder(merchant, "ref-total");
    bad.total = { currency: "CNY", amountMinor: 4497n };
    await env.publish("orders.inbound.v1", `${merchant}/ref-total`, OrderPlacedSchema, bad);
    const rejected = await env.orders.waitFor(
      (r) => r.headers["event-type"] === "tributary.order.v1.OrderRejected" && r.key === `${merchant}/ref-total`,
      "OrderRejected",
    );
    expect((rejected.message as OrderRejected).reasons.map((r) => r.field)).toEqual(["total.amount_minor"]);
  });

  it("rejects a changed order under a used reference, saying which fields differ", async () => {
    const merchant = uniqueMerchant("reject-conflict");
    const created = await env.writer.createOrder(validOrder(merchant, "ref-x"));
    const changed = validOrder(merchant, "ref-x");
    changed.buyer = { buyerId: "someone-else", country: "CN" };
    await env.publish("orders.inbound.v1", `${merchant}/ref-x`, OrderPlacedSchema, changed);
    const rejected = await env.orders.waitFor(
      (r) => r.headers["event-type"] === "tributary.order.v1.OrderRejected" && r.key === `${merchant}/ref-x`,
      "OrderRejected for the conflict",
    );
    const reasons = (rejected.message as OrderRejected).reasons;
    expect(reasons.map((r) => r.field)).toEqual(["buyer.buyer_id"]);
    expect(reasons[0]!.description).toContain(created.order!.orderId);
    expect(await orderCount(merchant)).toBe(1);
  });

  it("dead-letters an undecodable message with the reason, and the intake carries on", async () => {
    const merchant = uniqueMerchant("garbage");
    const eventId = await env.publish(
      "orders.inbound.v1",
      `${merchant}/ref-g`,
      OrderPlacedSchema,
      new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x01, 0x02]),
    );
    const dead = await env.inboundDeadLetters.waitFor((r) => r.headers["event-id"] === eventId, "dead letter");
    expect(dead.headers["dlq-reason"]).toMatch(/^undecodable: /);
    expect(dead.headers["dlq-consumer-group"]).toBe("order-intake");
    expect(await orderCount(merchant)).toBe(0);

    await env.publish("orders.inbound.v1", `${merchant}/ref-ok`, OrderPlacedSchema, validOrder(merchant, "ref-ok"));
    await env.orders.waitFor(
      (r) =>
        r.headers["event-type"] === "tributary.order.v1.OrderAccepted" &&
        (r.message as OrderAccepted).order?.merchantOrderRef === "ref-ok" &&
        (r.message as OrderAccepted).order?.merchantId === merchant,
      "OrderAccepted after the dead letter",
    );
  });
});
