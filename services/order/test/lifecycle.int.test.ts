import { Provider } from "@tributary/contracts/common/v1/provider";
import { OrderStatus } from "@tributary/contracts/order/v1/order";
import {
  PaymentCapturedSchema,
  PaymentFailedSchema,
  PaymentRefundedSchema,
  RefundFailedSchema,
} from "@tributary/contracts/payment/v1/payment_events";
import { Code } from "@tributary/grpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentsCaughtUpTo, rpcError, startOrderTestEnv, uniqueMerchant, validOrder, type OrderTestEnv } from "./order-test-env.js";

let env: OrderTestEnv;

beforeAll(async () => {
  env = await startOrderTestEnv();
});

afterAll(async () => {
  await env?.stop();
});


async function outboxTypes(orderId: string): Promise<string[]> {
  const result = await env.pool.query("SELECT event_type FROM outbox WHERE message_key = $1 ORDER BY id", [orderId]);
  return result.rows.map((r) => (r.event_type as string).replace("tributary.order.v1.", ""));
}

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

describe("order lifecycle driven by payments.v1", () => {
  it("moves an order to paid exactly once when the capture is delivered twice and re-sent", async () => {
    const merchant = uniqueMerchant("paid");
    const { order } = await env.writer.createOrder(validOrder(merchant, "ref-paid"));
    const orderId = order!.orderId;
    const eventId = await env.publish("payments.v1", orderId, PaymentCapturedSchema, captured(orderId, merchant, "pay-1"));
    await env.publish("payments.v1", orderId, PaymentCapturedSchema, captured(orderId, merchant, "pay-1"), eventId);
    await env.publish("payments.v1", orderId, PaymentCapturedSchema, captured(orderId, merchant, "pay-1"));
    await paymentsCaughtUpTo(env, orderId);

    const got = await env.reader.getOrder({ orderId });
    expect(got.order?.status).toBe(OrderStatus.PAID);
    expect(got.order?.paid?.amountMinor).toBe(4498n);
    expect(await outboxTypes(orderId)).toEqual(["OrderAccepted", "OrderPaid"]);
    await env.orders.waitFor(
      (r) => r.key === orderId && r.headers["event-type"] === "tributary.order.v1.OrderPaid",
      "OrderPaid on orders.v1",
    );
  });

  it("refunds partially, then fully, never more than paid, idempotently per refund_ref", async () => {
    const merchant = uniqueMerchant("refund");
    const { order } = await env.writer.createOrder(validOrder(merchant, "ref-refund"));
    const orderId = order!.orderId;

    const early = await rpcError(
      env.writer.requestRefund({ orderId, refundRef: "r0", amount: { currency: "CNY", amountMinor: 100n } }),
    );
    expect(early.code).toBe(Code.FailedPrecondition);
    expect(early.reason).toBe("illegal_transition");

    await env.publish("payments.v1", orderId, PaymentCapturedSchema, captured(orderId, merchant, "pay-r"));
    await paymentsCaughtUpTo(env, orderId);

    const first = await env.writer.requestRefund({
      orderId,
      refundRef: "r1",
      amount: { currency: "CNY", amountMinor: 1000n },
      reason: "one shirt returned",
    });
    expect(first.order?.status).toBe(OrderStatus.PARTIALLY_REFUNDED);
    expect(first.order?.refunded?.amountMinor).toBe(1000n);

    const repeat = await env.writer.requestRefund({ orderId, refundRef: "r1", amount: { currency: "CNY", amountMinor: 1000n } });
    expect(repeat.order?.refunded?.amountMinor).toBe(1000n);

    const reused = await rpcError(
      env.writer.requestRefund({ orderId, refundRef: "r1", amount: { currency: "CNY", amountMinor: 999n } }),
    );
    expect(reused.code).toBe(Code.AlreadyExists);
    expect(reused.reason).toBe("refund_ref_conflict");

    const tooMuch = await rpcError(
      env.writer.requestRefund({ orderId, refundRef: "r2", amount: { currency: "CNY", amountMinor: 3499n } }),
    );
    expect(tooMuch.code).toBe(Code.FailedPrecondition);
    expect(tooMuch.reason).toBe("refund_exceeds_remaining");
    expect(tooMuch.fieldViolations.map((v) => v.field)).toEqual(["amount.amount_minor"]);

    const badAmount = await rpcError(
      env.writer.requestRefund({ orderId, refundRef: "r3", amount: { currency: "CNY", amountMinor: 0n } }),
    );
    expect(badAmount.code).toBe(Code.InvalidArgument);
    expect(badAmount.fieldViolations.map((v) => v.field)).toEqual(["amount.amount_minor"]);

    const rest = await env.writer.requestRefund({ orderId, refundRef: "r2", amount: { currency: "CNY", amountMinor: 3498n } });
    expect(rest.order?.status).toBe(OrderStatus.REFUNDED);
    expect(rest.order?.refunded?.amountMinor).toBe(4498n);

    const none = await rpcError(
      env.writer.requestRefund({ orderId, refundRef: "r4", amount: { currency: "CNY", amountMinor: 1n } }),
    );
    expect(none.reason).toBe("refund_exceeds_remaining");

    // The provider refuses r2: its amount can be refunded again.
    await env.publish("payments.v1", orderId, RefundFailedSchema, {
      paymentId: "pay-r",
      orderId,
      refundRef: "r2",
      reasonCode: "insufficient_merchant_balance",
    });
    await env.publish("payments.v1", orderId, PaymentRefundedSchema, {
      paymentId: "pay-r",
      orderId,
      merchantId: merchant,
      provider: Provider.WECHAT_PAY,
      refundRef: "r1",
      providerRefundId: "wx-refund-1",
      amount: { currency: "CNY", amountMinor: 1000n },
    });
    await paymentsCaughtUpTo(env, orderId);
    const after = await env.reader.getOrder({ orderId });
    expect(after.order?.status).toBe(OrderStatus.PARTIALLY_REFUNDED);
    expect(after.order?.refunded?.amountMinor).toBe(1000n);
    expect(await outboxTypes(orderId)).toEqual([
      "OrderAccepted",
      "OrderPaid",
      "OrderRefundRequested",
      "OrderRefundRequested",
    ]);

    const cancelPaid = await rpcError(env.writer.cancelOrder({ orderId, reason: "too late" }));
    expect(cancelPaid.code).toBe(Code.FailedPrecondition);
  });

  // A capture that arrives for the cancelled order is refunded: test/unowned-capture.int.test.ts.
  it("cancels before payment, repeatably", async () => {
    const merchant = uniqueMerchant("cancel");
    const { order } = await env.writer.createOrder(validOrder(merchant, "ref-cancel"));
    const orderId = order!.orderId;
    const cancelled = await env.writer.cancelOrder({ orderId, reason: "buyer cancelled" });
    expect(cancelled.order?.status).toBe(OrderStatus.CANCELLED);
    const again = await env.writer.cancelOrder({ orderId, reason: "buyer cancelled" });
    expect(again.order?.status).toBe(OrderStatus.CANCELLED);

    const got = await env.reader.getOrder({ orderId });
    expect(got.order?.status).toBe(OrderStatus.CANCELLED);
    expect(got.order?.paid?.amountMinor).toBe(0n);
    expect(await outboxTypes(orderId)).toEqual(["OrderAccepted", "OrderCancelled"]);
  });

  it("records a failed payment, after which the order can be neither cancelled nor paid", async () => {
    const merchant = uniqueMerchant("failed");
    const { order } = await env.writer.createOrder(validOrder(merchant, "ref-failed"));
    const orderId = order!.orderId;
    await env.publish("payments.v1", orderId, PaymentFailedSchema, {
      paymentId: "pay-f",
      orderId,
      merchantId: merchant,
      provider: Provider.ALIPAY,
      reasonCode: "timed_out",
    });
    await paymentsCaughtUpTo(env, orderId);
    const got = await env.reader.getOrder({ orderId });
    expect(got.order?.status).toBe(OrderStatus.PAYMENT_FAILED);
    expect((await rpcError(env.writer.cancelOrder({ orderId }))).code).toBe(Code.FailedPrecondition);
    expect(await outboxTypes(orderId)).toEqual(["OrderAccepted", "OrderPaymentFailed"]);
    // A late capture of this order is refunded: test/unowned-capture.int.test.ts.
  });

  // A capture for an unknown order is recorded and refunded: test/unowned-capture.int.test.ts.
  it("dead-letters a capture with a wrong amount for an order that waits for payment", async () => {
    const merchant = uniqueMerchant("amount");
    const { order } = await env.writer.createOrder(validOrder(merchant, "ref-amount"));
    const orderId = order!.orderId;
    const wrong = await env.publish("payments.v1", orderId, PaymentCapturedSchema, captured(orderId, merchant, "pay-w", 4000n));
    const deadWrong = await env.paymentDeadLetters.waitFor((r) => r.headers["event-id"] === wrong, "dead letter");
    expect(deadWrong.headers["dlq-reason"]).toContain("order total");
    expect((await env.reader.getOrder({ orderId })).order?.status).toBe(OrderStatus.ACCEPTED);
  });
});
