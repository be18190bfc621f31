import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { money } from "@tributary/money";
import { startSandbox, type RunningSandbox } from "@tributary/provider-sandbox";
import type { Result } from "@tributary/result";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerConformanceSuite } from "../src/adapters/providers/conformance.js";
import type { NotificationError, ProviderAdapter, VerifiedNotification } from "../src/adapters/providers/provider-adapter.js";
import { createUnionpayAdapter, inMemoryUnionpayOrders } from "../src/adapters/providers/unionpay/client.js";

// The UnionPay adapter against the sandbox's ACP 5.1.0 gateway: signMethod=01 both ways, QR
// consume (txnSubType=07), query by orderId + txnTime, refunds by origQryId, back notifications.
// ACP finds an order by orderId + its original txnTime, so every adapter the suite builds shares
// one order memory, as the service's instances share their database.
const orders = inMemoryUnionpayOrders();
providerConformanceSuite({
  sandboxProvider: "unionpay",
  channel: "web",
  startSandbox,
  createAdapter: (credentials, { timeoutMs }) => createUnionpayAdapter({ ...credentials.unionpay, timeoutMs, orders }),
  quirks: {
    // ACP has no close for an open QR consume: it ends at the payTimeout we send.
    noCloseWhileOpen: true,
    // The consume query describes the consume; refund state is per refund (queryRefund).
    queryIgnoresRefunds: true,
  },
});

/*
 * What UnionPay does differently from the shared contract, asserted as UnionPay does it: ACP has
 * no close for an open QR consume (it ends at payTimeout), its consume query describes the consume
 * only (refunds do not change it), and a refund's notification carries the refund's orderId, so
 * the adapter names the payment itself.
 */
describe("unionpay adapter: ACP behaviour beyond the shared suite", () => {
  const cny = (minor: bigint) => money(minor, "CNY");
  let sandbox: RunningSandbox;
  let adapter: ProviderAdapter;
  const received: Result<VerifiedNotification, NotificationError>[] = [];
  const hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const verified = adapter.verifyNotification({ headers: { "content-type": req.headers["content-type"] ?? "" }, body: Buffer.concat(chunks) });
      received.push(verified);
      const ack = adapter.acknowledgement(verified.ok);
      res.writeHead(ack.status, ack.headers).end(ack.body);
    });
  });
  const hookUrl = (path: string) => `http://127.0.0.1:${(hook.address() as AddressInfo).port}${path}`;
  let seq = 0;
  const id = (prefix: string) => `${prefix}${Date.now()}${(seq += 1)}`;

  beforeAll(async () => {
    hook.listen(0, "127.0.0.1");
    await once(hook, "listening");
    sandbox = await startSandbox({ port: 0, seed: 11, buyer: { mode: "manual" }, timing: { refundDelayMs: 50, notifyScheduleMs: { unionpay: [0, 300] } } });
    adapter = createUnionpayAdapter({ ...sandbox.providers.unionpay, timeoutMs: 5_000, orders: inMemoryUnionpayOrders() });
  });
  afterAll(async () => {
    await sandbox.stop();
    hook.closeAllConnections();
    await new Promise<void>((resolve) => hook.close(() => resolve()));
  });

  const createPaid = async (): Promise<string> => {
    const paymentId = id("P");
    const created = await adapter.createPayment({
      paymentId, orderId: "O1", merchantId: "M1", amount: cny(1234n), channel: "web", description: "ACP 测试",
      notifyUrl: hookUrl(`/notify/${paymentId}`), expiresAt: new Date(Date.now() + 30 * 60_000),
    });
    expect(created).toMatchObject({ ok: true, value: { buyerAction: { kind: "qr_code" } } });
    return paymentId;
  };

  it("an open QR consume cannot be closed (rejected, nothing changed); a paid one is already_paid", async () => {
    const paymentId = await createPaid();
    expect(await adapter.closePayment(paymentId)).toMatchObject({ ok: false, error: { code: "rejected", providerCode: "close_not_supported" } });
    expect(sandbox.pay("unionpay", paymentId)).toBe(true);
    expect(await adapter.closePayment(paymentId)).toMatchObject({ ok: false, error: { code: "rejected", providerCode: "already_paid" } });
  });

  it("a refund's notification verifies and names the payment and the refund's own amount; the consume still queries as captured", async () => {
    const paymentId = await createPaid();
    expect(sandbox.pay("unionpay", paymentId)).toBe(true);
    const refundRef = id("R");
    const request = { paymentId, refundRef, amount: cny(400n), paymentAmount: cny(1234n), reason: "r", notifyUrl: hookUrl(`/notify/${paymentId}/refund`) };
    expect(await adapter.refund(request)).toMatchObject({ ok: true, value: { refundRef, status: "processing", amount: cny(400n) } });
    for (let i = 0; i < 600; i += 1) {
      if (received.some((n) => n.ok && n.value.kind === "refund" && n.value.report.refundRef === refundRef)) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(received.find((n) => n.ok && n.value.kind === "refund" && n.value.report.refundRef === refundRef)).toMatchObject({
      ok: true,
      value: { kind: "refund", report: { paymentId, refundRef, status: "succeeded", amount: cny(400n) } },
    });
    expect(await adapter.queryRefund(request)).toMatchObject({ ok: true, value: { status: "succeeded", amount: cny(400n) } });
    expect(await adapter.queryPayment(paymentId, cny(1234n))).toMatchObject({ ok: true, value: { status: "captured" } });
  });
});
