/**
 * Tenant-bound credentials: a token acts only for the merchants it is bound to. Another
 * merchant's order is NOT_FOUND (indistinguishable from a missing one) to GetOrder, CancelOrder
 * and RequestRefund and is left untouched; CreateOrder and ListOrders for another merchant are
 * PERMISSION_DENIED; the bound merchant's calls still work.
 */
import { Provider } from "@tributary/contracts/common/v1/provider";
import { OrderStatus } from "@tributary/contracts/order/v1/order";
import { OrderService } from "@tributary/contracts/order/v1/order_service";
import { PaymentCapturedSchema } from "@tributary/contracts/payment/v1/payment_events";
import { closeClient, Code, createClient, type RpcClient, type RpcError } from "@tributary/grpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, rpcError, startOrderTestEnv, uniqueMerchant, validOrder, type OrderTestEnv } from "./order-test-env.js";

const merchantA = uniqueMerchant("tenant-a");
const merchantB = uniqueMerchant("tenant-b");
const shopAToken = "shop-a-token-0123456789";
const shopBToken = "shop-b-token-0123456789";
const reconToken = "recon-wechat-token-0123";
const missingId = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

let env: OrderTestEnv;
let shopA: RpcClient<typeof OrderService>;
let shopB: RpcClient<typeof OrderService>;
let recon: RpcClient<typeof OrderService>;

beforeAll(async () => {
  env = await startOrderTestEnv({
    [shopAToken]: { id: "shop-a", scopes: ["orders:write", "orders:read"], grants: { merchants: [merchantA] } },
    [shopBToken]: { id: "shop-b", scopes: ["orders:write", "orders:read"], grants: { merchants: [merchantB] } },
    // A reconciliation worker bound to one provider acts for no merchant.
    [reconToken]: { id: "recon-wechat", scopes: ["orders:read"], grants: { providers: ["wechat_pay"] } },
  });
  const client = (token: string): RpcClient<typeof OrderService> =>
    createClient(OrderService, env.service.address, { bearerToken: token, defaultDeadlineMs: 20_000 });
  shopA = client(shopAToken);
  shopB = client(shopBToken);
  recon = client(reconToken);
});

afterAll(async () => {
  for (const c of [shopA, shopB, recon]) if (c !== undefined) closeClient(c);
  await env?.stop();
});

/** Creates an order of merchant A (as shop A) and returns its id. */
async function orderOfA(ref: string): Promise<string> {
  const { order, created } = await shopA.createOrder(validOrder(merchantA, ref));
  expect(created).toBe(true);
  return order!.orderId;
}

/** Pays an order through payments.v1 and waits until the service has applied it. */
async function pay(orderId: string): Promise<void> {
  await env.publish("payments.v1", orderId, PaymentCapturedSchema, {
    paymentId: `pay-${orderId}`,
    orderId,
    merchantId: merchantA,
    provider: Provider.WECHAT_PAY,
    providerTransactionId: `wx-${orderId}`,
    amount: { currency: "CNY", amountMinor: 4498n },
    fee: { currency: "CNY", amountMinor: 27n },
  });
  await eventually(async () => {
    const { order } = await env.reader.getOrder({ orderId });
    return order?.status === OrderStatus.PAID ? true : undefined;
  }, `order ${orderId} paid`);
}

/** What a caller can observe of a refusal, with the order id it named replaced. */
function observed(error: RpcError, orderId: string) {
  return {
    code: error.code,
    reason: error.reason,
    message: error.message.replaceAll(orderId, "<id>"),
    fieldViolations: error.fieldViolations,
  };
}

async function outboxTypes(orderId: string): Promise<string[]> {
  const result = await env.pool.query("SELECT event_type FROM outbox WHERE message_key = $1 ORDER BY id", [orderId]);
  return result.rows.map((r) => (r.event_type as string).replace("tributary.order.v1.", ""));
}

describe("tenant-bound tokens", () => {
  it("let a token create, read, list, cancel and refund the orders of its own merchant", async () => {
    const cancelId = await orderOfA("ref-own-cancel");
    const refundId = await orderOfA("ref-own-refund");
    expect((await shopA.getOrder({ orderId: cancelId })).order?.merchantId).toBe(merchantA);
    const listed = await shopA.listOrders({ merchantId: merchantA });
    expect(listed.orders.map((o) => o.orderId)).toEqual(expect.arrayContaining([cancelId, refundId]));

    expect((await shopA.cancelOrder({ orderId: cancelId, reason: "buyer cancelled" })).order?.status).toBe(
      OrderStatus.CANCELLED,
    );
    await pay(refundId);
    const refunded = await shopA.requestRefund({
      orderId: refundId,
      refundRef: "r1",
      amount: { currency: "CNY", amountMinor: 1000n },
    });
    expect(refunded.order?.status).toBe(OrderStatus.PARTIALLY_REFUNDED);
  });

  it("answer GetOrder with NOT_FOUND for another merchant's order, exactly as for a missing one", async () => {
    const orderId = await orderOfA("ref-foreign-get");
    const missing = observed(await rpcError(shopB.getOrder({ orderId: missingId })), missingId);
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.reason).toBe("order_not_found");
    expect(observed(await rpcError(shopB.getOrder({ orderId })), orderId)).toEqual(missing);
    expect(observed(await rpcError(recon.getOrder({ orderId })), orderId)).toEqual(missing);
  });

  it("answer CancelOrder with NOT_FOUND for another merchant's order and leave it accepted", async () => {
    const orderId = await orderOfA("ref-foreign-cancel");
    const missing = observed(await rpcError(shopB.cancelOrder({ orderId: missingId, reason: "x" })), missingId);
    expect(missing.code).toBe(Code.NotFound);
    expect(observed(await rpcError(shopB.cancelOrder({ orderId, reason: "x" })), orderId)).toEqual(missing);
    expect((await env.reader.getOrder({ orderId })).order?.status).toBe(OrderStatus.ACCEPTED);
    expect(await outboxTypes(orderId)).toEqual(["OrderAccepted"]);
  });

  it("answer RequestRefund with NOT_FOUND for another merchant's order, paid or not, and refund nothing", async () => {
    const paidId = await orderOfA("ref-foreign-paid");
    const unpaidId = await orderOfA("ref-foreign-unpaid");
    await pay(paidId);
    const refund = { refundRef: "r-foreign", amount: { currency: "CNY", amountMinor: 4498n } };
    const missing = observed(await rpcError(shopB.requestRefund({ orderId: missingId, ...refund })), missingId);
    expect(missing.code).toBe(Code.NotFound);
    expect(observed(await rpcError(shopB.requestRefund({ orderId: paidId, ...refund })), paidId)).toEqual(missing);
    // Not even the status leaks: an unpaid foreign order is NOT_FOUND too, not FAILED_PRECONDITION.
    expect(observed(await rpcError(shopB.requestRefund({ orderId: unpaidId, ...refund })), unpaidId)).toEqual(missing);
    const paid = (await env.reader.getOrder({ orderId: paidId })).order;
    expect(paid?.status).toBe(OrderStatus.PAID);
    expect(paid?.refunded?.amountMinor).toBe(0n);
    expect(await outboxTypes(paidId)).toEqual(["OrderAccepted", "OrderPaid"]);
  });

  it("refuse ListOrders for another merchant with PERMISSION_DENIED, and still require the merchant", async () => {
    await orderOfA("ref-list");
    for (const client of [shopB, recon]) {
      const denied = await rpcError(client.listOrders({ merchantId: merchantA }));
      expect(denied.code).toBe(Code.PermissionDenied);
      expect(denied.reason).toBe("merchant_access_denied");
    }
    const unfiltered = await rpcError(shopB.listOrders({}));
    expect(unfiltered.code).toBe(Code.InvalidArgument);
    expect(unfiltered.fieldViolations.map((v) => v.field)).toEqual(["merchant_id"]);
    expect((await shopB.listOrders({ merchantId: merchantB })).orders).toEqual([]);
  });

  it("refuse CreateOrder for another merchant with PERMISSION_DENIED, store nothing, and reveal no existing reference", async () => {
    await orderOfA("ref-taken");
    const fresh = await rpcError(shopB.createOrder(validOrder(merchantA, "ref-by-b")));
    expect(fresh.code).toBe(Code.PermissionDenied);
    expect(fresh.reason).toBe("merchant_access_denied");
    const rows = await env.pool.query("SELECT count(*)::int AS n FROM orders WHERE merchant_id = $1 AND merchant_order_ref = $2", [
      merchantA,
      "ref-by-b",
    ]);
    expect(rows.rows[0].n).toBe(0);
    // The same reference as an existing order, with other content: still PERMISSION_DENIED, not ALREADY_EXISTS.
    const conflicting = { ...validOrder(merchantA, "ref-taken"), buyer: { buyerId: "someone-else", country: "CN" } };
    expect((await rpcError(shopA.createOrder(conflicting))).code).toBe(Code.AlreadyExists);
    expect((await rpcError(shopB.createOrder(conflicting))).code).toBe(Code.PermissionDenied);
    expect((await shopB.createOrder(validOrder(merchantB, "ref-own"))).created).toBe(true);
  });
});
