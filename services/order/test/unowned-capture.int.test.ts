/**
 * Money captured for an order that cannot take it — cancelled, closed unpaid, already paid by
 * another payment, or no such order — is recorded once per payment id and handed to
 * payment-routing for a refund as `CaptureRefundRequested` on `orders.v1`; never a dead letter.
 * A capture missing a required field is the one that is dead-lettered, with the field named.
 */
import { Provider } from "@tributary/contracts/common/v1/provider";
import { OrderStatus } from "@tributary/contracts/order/v1/order";
import { UnownedCaptureReason, type CaptureRefundRequested } from "@tributary/contracts/order/v1/order_events";
import {
  PaymentCapturedSchema,
  PaymentFailedSchema,
  PaymentRefundedSchema,
  RefundFailedSchema,
} from "@tributary/contracts/payment/v1/payment_events";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPgOrderStore } from "../src/adapters/db/pg-order-store.js";
import { paymentsCaughtUpTo, startOrderTestEnv, uniqueMerchant, validOrder, type OrderTestEnv } from "./order-test-env.js";

let env: OrderTestEnv;

beforeAll(async () => {
  env = await startOrderTestEnv();
});

afterAll(async () => {
  await env?.stop();
});


function captured(orderId: string, merchantId: string, paymentId: string, amountMinor = 4498n) {
  return {
    paymentId,
    orderId,
    merchantId,
    provider: Provider.WECHAT_PAY,
    providerTransactionId: `wx-${paymentId}`,
    amount: { currency: "CNY", amountMinor },
    fee: { currency: "CNY", amountMinor: 27n },
  };
}

async function outboxTypes(orderId: string): Promise<string[]> {
  const result = await env.pool.query("SELECT event_type FROM outbox WHERE message_key = $1 ORDER BY id", [orderId]);
  return result.rows.map((r) => (r.event_type as string).replace("tributary.order.v1.", ""));
}

async function unownedRows(orderId: string): Promise<{ payment_id: string; reason: string; refund_ref: string; amount_minor: string }[]> {
  const result = await env.pool.query(
    "SELECT payment_id, reason, refund_ref, amount_minor::text FROM unowned_captures WHERE order_id = $1 ORDER BY recorded_at",
    [orderId],
  );
  return result.rows as { payment_id: string; reason: string; refund_ref: string; amount_minor: string }[];
}

/** Publishes a capture three times: once, redelivered under the same event id, re-sent under a new one. */
async function captureThreeTimes(orderId: string, merchant: string, paymentId: string, amountMinor?: bigint): Promise<string[]> {
  const message = captured(orderId, merchant, paymentId, amountMinor);
  const first = await env.publish("payments.v1", orderId, PaymentCapturedSchema, message);
  await env.publish("payments.v1", orderId, PaymentCapturedSchema, message, first);
  const resent = await env.publish("payments.v1", orderId, PaymentCapturedSchema, message);
  await paymentsCaughtUpTo(env, orderId);
  return [first, resent];
}

/** The one CaptureRefundRequested published on orders.v1 for this payment (fails on none). */
async function publishedRefundRequest(orderId: string, paymentId: string): Promise<CaptureRefundRequested> {
  const record = await env.orders.waitFor(
    (r) =>
      r.key === orderId &&
      r.headers["event-type"] === "tributary.order.v1.CaptureRefundRequested" &&
      (r.message as CaptureRefundRequested | undefined)?.paymentId === paymentId,
    `CaptureRefundRequested for ${paymentId} on orders.v1`,
  );
  return record.message as CaptureRefundRequested;
}

function expectNoDeadLetters(eventIds: readonly string[]): void {
  expect(env.paymentDeadLetters.records.filter((r) => eventIds.includes(r.headers["event-id"] ?? ""))).toEqual([]);
}

describe("a captured payment no order owns is refunded, never stranded", () => {
  it("requests the refund of a capture for a cancelled order exactly once, however often it arrives", async () => {
    const merchant = uniqueMerchant("unowned-cancel");
    const { order } = await env.writer.createOrder(validOrder(merchant, "ref-unowned-cancel"));
    const orderId = order!.orderId;
    await env.writer.cancelOrder({ orderId, reason: "buyer cancelled" });

    const eventIds = await captureThreeTimes(orderId, merchant, "pay-c");

    expect(await outboxTypes(orderId)).toEqual(["OrderAccepted", "OrderCancelled", "CaptureRefundRequested"]);
    expect(await unownedRows(orderId)).toEqual([
      { payment_id: "pay-c", reason: "order_cancelled", refund_ref: "capture-refund:pay-c", amount_minor: "4498" },
    ]);
    const request = await publishedRefundRequest(orderId, "pay-c");
    expect(request).toMatchObject({
      orderId,
      paymentId: "pay-c",
      merchantId: merchant,
      provider: Provider.WECHAT_PAY,
      providerTransactionId: "wx-pay-c",
      amount: { currency: "CNY", amountMinor: 4498n },
      reason: UnownedCaptureReason.ORDER_CANCELLED,
      refundRef: "capture-refund:pay-c",
    });
    expect(request.description).toContain("cancelled");
    expectNoDeadLetters(eventIds);

    const got = await env.reader.getOrder({ orderId });
    expect(got.order?.status).toBe(OrderStatus.CANCELLED);
    expect(got.order?.paid?.amountMinor).toBe(0n);
  });

  it("refunds a second payment of an order already paid, which stays paid by the first", async () => {
    const merchant = uniqueMerchant("unowned-paid");
    const { order } = await env.writer.createOrder(validOrder(merchant, "ref-unowned-paid"));
    const orderId = order!.orderId;
    await env.publish("payments.v1", orderId, PaymentCapturedSchema, captured(orderId, merchant, "pay-first"));

    const eventIds = await captureThreeTimes(orderId, merchant, "pay-second");

    expect(await outboxTypes(orderId)).toEqual(["OrderAccepted", "OrderPaid", "CaptureRefundRequested"]);
    expect(await unownedRows(orderId)).toEqual([
      {
        payment_id: "pay-second",
        reason: "already_paid_by_other_payment",
        refund_ref: "capture-refund:pay-second",
        amount_minor: "4498",
      },
    ]);
    const request = await publishedRefundRequest(orderId, "pay-second");
    expect(request.reason).toBe(UnownedCaptureReason.ALREADY_PAID_BY_OTHER_PAYMENT);
    expect(request.description).toContain("pay-first");
    expectNoDeadLetters(eventIds);

    const stored = await env.pool.query("SELECT status, payment_id, paid_minor::text FROM orders WHERE order_id = $1", [orderId]);
    expect(stored.rows).toEqual([{ status: "paid", payment_id: "pay-first", paid_minor: "4498" }]);
    // The first payment arriving again is still the no-op it always was.
    await env.publish("payments.v1", orderId, PaymentCapturedSchema, captured(orderId, merchant, "pay-first"));
    await paymentsCaughtUpTo(env, orderId);
    expect(await outboxTypes(orderId)).toEqual(["OrderAccepted", "OrderPaid", "CaptureRefundRequested"]);
  });

  it("requests the refund of a late capture for an order whose payment failed", async () => {
    const merchant = uniqueMerchant("unowned-failed");
    const { order } = await env.writer.createOrder(validOrder(merchant, "ref-unowned-failed"));
    const orderId = order!.orderId;
    await env.publish("payments.v1", orderId, PaymentFailedSchema, {
      paymentId: "pay-late",
      orderId,
      merchantId: merchant,
      provider: Provider.ALIPAY,
      reasonCode: "timed_out",
    });
    const eventIds = await captureThreeTimes(orderId, merchant, "pay-late");

    expect(await outboxTypes(orderId)).toEqual(["OrderAccepted", "OrderPaymentFailed", "CaptureRefundRequested"]);
    expect((await publishedRefundRequest(orderId, "pay-late")).reason).toBe(UnownedCaptureReason.ORDER_PAYMENT_FAILED);
    expectNoDeadLetters(eventIds);
    expect((await env.reader.getOrder({ orderId })).order?.status).toBe(OrderStatus.PAYMENT_FAILED);
  });

  it("records a capture for an order id that names no order and requests its refund once", async () => {
    const merchant = uniqueMerchant("unowned-unknown");
    const missing = uuidv7();
    const eventIds = await captureThreeTimes(missing, merchant, "pay-nobody", 1234n);

    expect(await outboxTypes(missing)).toEqual(["CaptureRefundRequested"]);
    expect(await unownedRows(missing)).toEqual([
      { payment_id: "pay-nobody", reason: "order_unknown", refund_ref: "capture-refund:pay-nobody", amount_minor: "1234" },
    ]);
    const request = await publishedRefundRequest(missing, "pay-nobody");
    expect(request).toMatchObject({
      orderId: missing,
      merchantId: merchant,
      reason: UnownedCaptureReason.ORDER_UNKNOWN,
      amount: { currency: "CNY", amountMinor: 1234n },
    });
    expectNoDeadLetters(eventIds);
    const orders = await env.pool.query("SELECT 1 FROM orders WHERE order_id = $1", [missing]);
    expect(orders.rowCount).toBe(0);
  });

  it("dead-letters a capture with an empty payment_id, naming the field, and neither pays nor records anything", async () => {
    // Two orders, so each dead letter is on its own key: one waiting for payment, one cancelled.
    // Were an empty id accepted, the first would pay the order with payment "" and every later
    // empty id would look like "the same payment"; the second would be refunded under "capture-refund:".
    const merchant = uniqueMerchant("unowned-empty");
    const open = (await env.writer.createOrder(validOrder(merchant, "ref-empty-open"))).order!.orderId;
    const closed = (await env.writer.createOrder(validOrder(merchant, "ref-empty-closed"))).order!.orderId;
    await env.writer.cancelOrder({ orderId: closed, reason: "buyer cancelled" });

    for (const orderId of [open, closed]) {
      const eventId = await env.publish("payments.v1", orderId, PaymentCapturedSchema, captured(orderId, merchant, ""));
      const dead = await env.paymentDeadLetters.waitFor((r) => r.headers["event-id"] === eventId, "dead letter");
      expect(dead.headers["dlq-reason"]).toContain("missing_required_fields: paymentId");
    }

    expect((await env.reader.getOrder({ orderId: open })).order?.status).toBe(OrderStatus.ACCEPTED);
    expect(await outboxTypes(open)).toEqual(["OrderAccepted"]);
    expect(await unownedRows(closed)).toEqual([]);
    expect(await outboxTypes(closed)).toEqual(["OrderAccepted", "OrderCancelled"]);
  });
});

/** Payment-routing's PaymentRefunded for the refund of an unowned capture. */
function captureRefunded(orderId: string, merchantId: string, paymentId: string, amountMinor = 4498n) {
  return {
    paymentId,
    orderId,
    merchantId,
    provider: Provider.WECHAT_PAY,
    refundRef: `capture-refund:${paymentId}`,
    providerRefundId: `wx-refund-${paymentId}`,
    amount: { currency: "CNY", amountMinor },
    feeReturned: { currency: "CNY", amountMinor: 27n },
  };
}

/** Payment-routing's RefundFailed for the refund of an unowned capture. */
function captureRefundFailed(orderId: string, paymentId: string, reasonCode = "account_closed") {
  return {
    paymentId,
    orderId,
    refundRef: `capture-refund:${paymentId}`,
    reasonCode,
    providerMessage: "the buyer's account is closed",
  };
}

interface RefundState {
  refund_status: string;
  refund_failed_reason: string | null;
  refund_outcome_at: Date | null;
}

async function refundState(paymentId: string): Promise<RefundState | undefined> {
  const result = await env.pool.query(
    "SELECT refund_status, refund_failed_reason, refund_outcome_at FROM unowned_captures WHERE payment_id = $1",
    [paymentId],
  );
  return result.rows[0] as RefundState | undefined;
}

/** Everything stored about the order itself, to show a capture refund's reply changes none of it. */
async function orderSnapshot(orderId: string): Promise<unknown[]> {
  const orders = await env.pool.query("SELECT * FROM orders WHERE order_id = $1", [orderId]);
  const refunds = await env.pool.query("SELECT * FROM order_refunds WHERE order_id = $1 ORDER BY refund_ref", [orderId]);
  return [orders.rows, refunds.rows];
}

/**
 * Publishes a reply once, waits until it is recorded, then redelivers it (same event id) and
 * re-sends it (new event id, with `resent` applied) and waits for both: the state after the first
 * is the state after all three. Returns the event ids and that state.
 */
async function replyThreeTimes<M extends object>(
  orderId: string,
  paymentId: string,
  publishOnce: (message: M, eventId?: string) => Promise<string>,
  message: M,
  resent: M,
): Promise<{ eventIds: string[]; first: RefundState | undefined }> {
  const firstId = await publishOnce(message);
  await paymentsCaughtUpTo(env, orderId);
  const first = await refundState(paymentId);
  await publishOnce(message, firstId);
  const resentId = await publishOnce(resent);
  await paymentsCaughtUpTo(env, orderId);
  return { eventIds: [firstId, resentId], first };
}

describe("payment-routing's reply to a capture refund is recorded on the capture, exactly once", () => {
  it("marks the capture of a cancelled order refunded, once, and leaves the order as it was", async () => {
    const merchant = uniqueMerchant("capture-refunded");
    const { order } = await env.writer.createOrder(validOrder(merchant, "ref-capture-refunded"));
    const orderId = order!.orderId;
    await env.writer.cancelOrder({ orderId, reason: "buyer cancelled" });
    await captureThreeTimes(orderId, merchant, "pay-cr");
    expect(await refundState("pay-cr")).toEqual({ refund_status: "requested", refund_failed_reason: null, refund_outcome_at: null });
    const before = await orderSnapshot(orderId);

    const { eventIds, first } = await replyThreeTimes(
      orderId,
      "pay-cr",
      (message, eventId) => env.publish("payments.v1", orderId, PaymentRefundedSchema, message, eventId),
      captureRefunded(orderId, merchant, "pay-cr"),
      { ...captureRefunded(orderId, merchant, "pay-cr"), providerRefundId: "wx-refund-again" },
    );

    expect(first).toMatchObject({ refund_status: "refunded", refund_failed_reason: null });
    expect(first?.refund_outcome_at).toBeInstanceOf(Date);
    // Exactly once: neither the redelivery nor the re-send recorded it again (same time).
    expect(await refundState("pay-cr")).toEqual(first);
    expectNoDeadLetters(eventIds);
    const handled = await env.pool.query(
      "SELECT count(*)::int AS n FROM inbox WHERE consumer_group = 'order-payments' AND event_id = ANY($1)",
      [eventIds],
    );
    expect(handled.rows[0]).toEqual({ n: 2 });
    expect(await orderSnapshot(orderId)).toEqual(before);
    expect(await outboxTypes(orderId)).toEqual(["OrderAccepted", "OrderCancelled", "CaptureRefundRequested"]);
    expect((await env.reader.getOrder({ orderId })).order?.status).toBe(OrderStatus.CANCELLED);
  });

  it("marks the surplus capture of a paid order refund_failed with the reason, once, listed for operators", async () => {
    const merchant = uniqueMerchant("capture-refund-failed");
    const { order } = await env.writer.createOrder(validOrder(merchant, "ref-capture-refund-failed"));
    const orderId = order!.orderId;
    await env.publish("payments.v1", orderId, PaymentCapturedSchema, captured(orderId, merchant, "pay-rf-first"));
    await captureThreeTimes(orderId, merchant, "pay-rf-second");
    const before = await orderSnapshot(orderId);

    const { eventIds, first } = await replyThreeTimes(
      orderId,
      "pay-rf-second",
      (message, eventId) => env.publish("payments.v1", orderId, RefundFailedSchema, message, eventId),
      captureRefundFailed(orderId, "pay-rf-second"),
      captureRefundFailed(orderId, "pay-rf-second", "provider_unavailable"),
    );

    expect(first).toMatchObject({
      refund_status: "refund_failed",
      refund_failed_reason: "account_closed: the buyer's account is closed",
    });
    // The re-send under a new event id (with another reason) did not rewrite the first failure.
    expect(await refundState("pay-rf-second")).toEqual(first);
    expectNoDeadLetters(eventIds);
    expect(await orderSnapshot(orderId)).toEqual(before);
    const stored = await env.pool.query("SELECT status, payment_id, paid_minor::text FROM orders WHERE order_id = $1", [orderId]);
    expect(stored.rows).toEqual([{ status: "paid", payment_id: "pay-rf-first", paid_minor: "4498" }]);
    expect(await outboxTypes(orderId)).toEqual(["OrderAccepted", "OrderPaid", "CaptureRefundRequested"]);

    const failed = await createPgOrderStore().listUnownedCaptures(env.pool, { refundStatuses: ["refund_failed"], limit: 1000 });
    expect(failed.filter((listing) => listing.orderId === orderId)).toEqual([
      {
        orderId,
        capture: expect.objectContaining({
          paymentId: "pay-rf-second",
          refundRef: "capture-refund:pay-rf-second",
          amount: { currency: "CNY", amountMinor: 4498n },
          reason: "already_paid_by_other_payment",
          refundStatus: "refund_failed",
          refundFailedReason: "account_closed: the buyer's account is closed",
        }) as unknown,
        recordedAt: expect.any(Date) as unknown,
        refundOutcomeAt: first?.refund_outcome_at,
      },
    ]);
  });

  it("records both replies for captures that named no order, once each, without creating an order", async () => {
    const merchant = uniqueMerchant("capture-refund-unknown");
    const refundedId = uuidv7();
    const failedId = uuidv7();
    await captureThreeTimes(refundedId, merchant, "pay-nobody-refunded", 1234n);
    await captureThreeTimes(failedId, merchant, "pay-nobody-failed", 1234n);

    const refunded = await replyThreeTimes(
      refundedId,
      "pay-nobody-refunded",
      (message, eventId) => env.publish("payments.v1", refundedId, PaymentRefundedSchema, message, eventId),
      captureRefunded(refundedId, merchant, "pay-nobody-refunded", 1234n),
      captureRefunded(refundedId, merchant, "pay-nobody-refunded", 1234n),
    );
    const failed = await replyThreeTimes(
      failedId,
      "pay-nobody-failed",
      (message, eventId) => env.publish("payments.v1", failedId, RefundFailedSchema, message, eventId),
      captureRefundFailed(failedId, "pay-nobody-failed"),
      captureRefundFailed(failedId, "pay-nobody-failed", "provider_unavailable"),
    );

    expect(refunded.first).toMatchObject({ refund_status: "refunded", refund_failed_reason: null });
    expect(await refundState("pay-nobody-refunded")).toEqual(refunded.first);
    expect(failed.first).toMatchObject({
      refund_status: "refund_failed",
      refund_failed_reason: "account_closed: the buyer's account is closed",
    });
    expect(await refundState("pay-nobody-failed")).toEqual(failed.first);
    expectNoDeadLetters([...refunded.eventIds, ...failed.eventIds]);
    const orders = await env.pool.query("SELECT 1 FROM orders WHERE order_id = ANY($1::uuid[])", [[refundedId, failedId]]);
    expect(orders.rowCount).toBe(0);
    expect(await outboxTypes(refundedId)).toEqual(["CaptureRefundRequested"]);
    expect(await outboxTypes(failedId)).toEqual(["CaptureRefundRequested"]);
  });

  it("dead-letters a capture refund of another amount than the capture, with the reason, and records nothing", async () => {
    const merchant = uniqueMerchant("capture-refund-amount");
    const { order } = await env.writer.createOrder(validOrder(merchant, "ref-capture-refund-amount"));
    const orderId = order!.orderId;
    await env.writer.cancelOrder({ orderId, reason: "buyer cancelled" });
    await captureThreeTimes(orderId, merchant, "pay-amount");
    const missing = uuidv7();
    await captureThreeTimes(missing, merchant, "pay-amount-nobody", 1234n);

    for (const [key, paymentId, amountMinor, captured] of [
      [orderId, "pay-amount", 4000n, "4498"],
      [missing, "pay-amount-nobody", 1000n, "1234"],
    ] as const) {
      const eventId = await env.publish("payments.v1", key, PaymentRefundedSchema, captureRefunded(key, merchant, paymentId, amountMinor));
      const dead = await env.paymentDeadLetters.waitFor((r) => r.headers["event-id"] === eventId, "dead letter");
      expect(dead.headers["dlq-reason"]).toContain("illegal_transition");
      expect(dead.headers["dlq-reason"]).toContain(
        `captured ${captured} CNY minor units and its whole amount was to be refunded, but ${amountMinor.toString()} CNY minor units was refunded`,
      );
      expect(await refundState(paymentId)).toEqual({ refund_status: "requested", refund_failed_reason: null, refund_outcome_at: null });
    }
  });
});
