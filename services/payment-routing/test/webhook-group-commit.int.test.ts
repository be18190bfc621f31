import { create, toBinary } from "@bufbuild/protobuf";
import { PROVIDER_IDS, providerIdToProto, sandboxProviderName, type ProviderId } from "@tributary/contracts";
import { Channel as ProtoChannel } from "@tributary/contracts/common/v1/provider";
import { OrderStatus } from "@tributary/contracts/order/v1/order";
import { OrderAcceptedSchema } from "@tributary/contracts/order/v1/order_events";
import { envelopeHeaders, newEventId, protobufContentType } from "@tributary/events";
import { startSandbox, type RunningSandbox } from "@tributary/provider-sandbox";
import { testDatabaseUrl, testKafkaBrokers } from "@tributary/testkit/vitest";
import { Kafka, logLevel, type Producer } from "kafkajs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NotificationEffects } from "../src/adapters/http/notification-effects.js";
import { startWebhookServer, type RunningWebhookServer } from "../src/adapters/http/webhook-server.js";
import type { ProviderAdapter } from "../src/adapters/providers/provider-adapter.js";
import { fixedPolicySource } from "../src/app/policy-source.js";
import { startPaymentRoutingService, type RunningPaymentRoutingService } from "../src/payment-routing-service.js";
import { createProviderAdapters } from "../src/provider-adapters.js";
import { testPolicy } from "./payment-routing-test-env.js";
import { capturingLogger, eventually, notificationProxy, postRaw, type HeldNotification } from "./webhook-support.js";

/*
 * The webhook's group commit with the real payment lifecycle (the service in-process, real Kafka
 * and Postgres, the sandbox's real signed notifications on all five rails): notifications that
 * arrive together share transactions — seen in the database, where several ids were inserted by
 * one transaction (xmin) — and each is still applied once, a second copy of one in the same
 * burst is a duplicate, and every PaymentCaptured is appended once. An apply that fails inside a
 * group rolls the group back; every other notification of it is then applied alone, and only the
 * failing one is answered 503 and left unstored.
 */

describe("webhook group commit through the real lifecycle", () => {
  let sandbox: RunningSandbox;
  let service: RunningPaymentRoutingService | undefined;
  let pool: pg.Pool;
  let webhook: RunningWebhookServer;
  let proxy: Awaited<ReturnType<typeof notificationProxy>>;
  let producer: Producer;
  let adapters: Map<ProviderId, ProviderAdapter>;
  const poisoned = new Set<string>();
  /** Payments whose apply holds its transaction a while (and says when it started), so a group forms behind it. */
  const slow = new Map<string, () => void>();
  const merchantId = `m-gc-${newEventId().slice(-12)}`;
  const databaseUrl = testDatabaseUrl("tributary_payment_routing");
  const { logger, lines } = capturingLogger();

  beforeAll(async () => {
    const everyProvider = <T>(value: T) => Object.fromEntries(PROVIDER_IDS.map((id) => [sandboxProviderName(id), value]));
    // The proxy holds each first delivery (and answers 503); the sandbox's next try is far off.
    sandbox = await startSandbox({ port: 0, seed: 4_300, buyer: { mode: "manual" }, timing: { refundDelayMs: 100, notifyScheduleMs: everyProvider([0, 600_000]) } });
    const list = createProviderAdapters(sandbox.providers, { timeoutMs: 3_000 });
    adapters = new Map(list.map((a) => [a.provider, a]));
    const lifecycle = () => {
      if (service === undefined) throw new Error("the service is not started yet");
      return service.lifecycle.notificationEffects;
    };
    const effects: NotificationEffects = {
      applyPayment: (tx, report, context) => {
        if (poisoned.has(report.paymentId)) throw new Error(`planted lifecycle failure for ${report.paymentId}`);
        const started = slow.get(report.paymentId);
        if (started === undefined) return lifecycle().applyPayment(tx, report, context);
        started();
        return tx.query("SELECT pg_sleep(0.3)").then(() => lifecycle().applyPayment(tx, report, context));
      },
      applyRefund: (tx, report, context) => lifecycle().applyRefund(tx, report, context),
    };
    pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
    webhook = await startWebhookServer({ adapters: list, pool, effects, logger, pruneIntervalMs: 0 });
    proxy = await notificationProxy(() => webhook.url, () => "refuse");
    service = await startPaymentRoutingService({
      databaseUrl,
      kafkaBrokers: testKafkaBrokers(),
      adapters: list,
      policySource: fixedPolicySource(testPolicy(merchantId, PROVIDER_IDS)),
      // `<proxy>/held/webhooks/<provider>`: every notification is held by the proxy.
      notifyBaseUrl: proxy.notifyUrl("held", "alipay").replace(/\/webhooks\/alipay$/, ""),
      ordersGroupId: `payment-routing-group-commit-test-${newEventId()}`,
      // The first query comes late, so every capture arrives by notification.
      timings: { firstQueryAfterMs: 60_000, queryIntervalMs: 60_000, paymentTimeoutMs: 120_000, unknownRetryMs: 500, leaseMs: 15_000 },
      workerIntervalMs: 200,
      random: () => 0.5,
      logger,
    });
    producer = new Kafka({ clientId: "payment-routing-group-commit-tests", brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await service?.stop();
    await proxy?.stop();
    await webhook?.stop();
    await pool?.end();
    await sandbox?.stop();
  });

  const acceptOrder = async (provider: ProviderId, amountMinor: bigint): Promise<string> => {
    const orderId = newEventId();
    const message = create(OrderAcceptedSchema, {
      order: {
        orderId,
        merchantId,
        merchantOrderRef: `ref-${orderId}`,
        buyer: { buyerId: "buyer-gc", country: "CN" },
        lines: [{ sku: "SKU-1", category: "apparel", quantity: 1n, unitPrice: { currency: "CNY", amountMinor } }],
        total: { currency: "CNY", amountMinor },
        channel: ProtoChannel.WEB,
        preferredProvider: providerIdToProto(provider),
        status: OrderStatus.ACCEPTED,
      },
    });
    const headers = envelopeHeaders({
      eventId: newEventId(),
      eventType: OrderAcceptedSchema.typeName,
      schemaVersion: "1",
      producer: "order",
      occurredAt: new Date(),
      contentType: protobufContentType,
    });
    await producer.send({ topic: "orders.v1", messages: [{ key: orderId, value: Buffer.from(toBinary(OrderAcceptedSchema, message)), headers }] });
    return orderId;
  };

  /** `count` paid payments (round-robin over the rails) whose first notification the proxy holds. */
  const paidAndHeld = async (count: number): Promise<Array<{ orderId: string; paymentId: string; provider: ProviderId; held: HeldNotification }>> => {
    const orders: Array<{ orderId: string; provider: ProviderId }> = [];
    for (let i = 0; i < count; i += 1) {
      const provider = PROVIDER_IDS[i % PROVIDER_IDS.length]!;
      orders.push({ orderId: await acceptOrder(provider, 10_000n + BigInt(i)), provider });
    }
    const paid: Array<{ orderId: string; paymentId: string; provider: ProviderId }> = [];
    for (const { orderId, provider } of orders) {
      const paymentId = await eventually(`a pending ${provider} payment`, async () => {
        const rows = await pool.query<{ payment_id: string }>("SELECT payment_id FROM payments WHERE order_id = $1 AND status = 'pending'", [orderId]);
        return rows.rows[0]?.payment_id;
      }, 30_000);
      expect(sandbox.pay(sandboxProviderName(provider), paymentId)).toBe(true);
      paid.push({ orderId, paymentId, provider });
    }
    return Promise.all(
      paid.map(async (p) => ({
        ...p,
        held: await eventually(`the held ${p.provider} notification of ${p.paymentId}`, () =>
          proxy.seen.find((n) => {
            if (n.provider !== p.provider) return false;
            const verified = adapters.get(p.provider)!.verifyNotification(n.raw);
            return verified.ok && verified.value.report.paymentId === p.paymentId;
          }),
        ),
      })),
    );
  };

  const status = async (paymentId: string) =>
    (await pool.query<{ status: string }>("SELECT status FROM payments WHERE payment_id = $1", [paymentId])).rows[0]?.status;
  const capturedEvents = async (orderId: string) =>
    Number(
      (await pool.query<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE message_key = $1 AND event_type = 'tributary.payment.v1.PaymentCaptured'", [orderId]))
        .rows[0]?.n,
    );
  const storedIds = async (paymentIds: readonly string[]) =>
    (await pool.query<{ payment_id: string; tx: string }>("SELECT payment_id, xmin::text AS tx FROM webhook_notifications WHERE payment_id = ANY($1)", [paymentIds])).rows;
  /** Posts the first payment's notification, and once its apply holds the webhook's transaction, the rest (and `copies` of each) at once. */
  const postBehindFirst = async (payments: Awaited<ReturnType<typeof paidAndHeld>>, copies: number) => {
    const [first, ...rest] = payments;
    const applying = new Promise<void>((resolve) => slow.set(first!.paymentId, resolve));
    const firstAnswer = postRaw(webhook.notifyUrl(first!.provider), first!.held.raw).then((answer) => ({ p: first!, answer }));
    await applying;
    const others = rest.flatMap((p) => Array.from({ length: copies }, async () => ({ p, answer: await postRaw(webhook.notifyUrl(p.provider), p.held.raw) })));
    return Promise.all([firstAnswer, ...others]);
  };
  const total = (outcome: "applied" | "duplicate" | "error") => PROVIDER_IDS.reduce((sum, p) => sum + webhook.metrics.count(p, outcome), 0);

  it("a burst of notifications, each sent twice at once: fewer transactions than notifications, each payment captured once, each copy a duplicate", async () => {
    const payments = await paidAndHeld(15);
    const appliedBefore = total("applied");
    const duplicateBefore = total("duplicate");
    const answers = await postBehindFirst(payments, 2);
    // The first one's copy, now that it is stored.
    answers.push({ p: payments[0]!, answer: await postRaw(webhook.notifyUrl(payments[0]!.provider), payments[0]!.held.raw) });
    for (const { p, answer } of answers) expect(answer.status).toBe(adapters.get(p.provider)!.acknowledgement(true).status);
    for (const p of payments) {
      expect(await status(p.paymentId)).toBe("captured");
      expect(await capturedEvents(p.orderId)).toBe(1);
    }
    expect(total("applied") - appliedBefore).toBe(payments.length);
    expect(total("duplicate") - duplicateBefore).toBe(payments.length);
    const stored = await storedIds(payments.map((p) => p.paymentId));
    expect(stored).toHaveLength(payments.length);
    // Group commit: some transaction stored more than one notification id.
    expect(new Set(stored.map((row) => row.tx)).size).toBeLessThan(payments.length);
  });

  it("an apply that fails inside a group: the group rolls back, the others are applied alone, only the failing one is answered 503 and not stored", async () => {
    const payments = await paidAndHeld(10);
    const failing = payments[3]!;
    poisoned.add(failing.paymentId);
    const errorsBefore = total("error");
    const answers = await postBehindFirst(payments, 1);
    for (const { p, answer } of answers) {
      expect(answer.status).toBe(p === failing ? 503 : adapters.get(p.provider)!.acknowledgement(true).status);
    }
    expect(total("error") - errorsBefore).toBe(1);
    expect(lines.some((l) => l["msg"] === "webhook group commit rolled back; each of its notifications is handled alone")).toBe(true);
    for (const p of payments) {
      expect(await status(p.paymentId)).toBe(p === failing ? "pending" : "captured");
      expect(await capturedEvents(p.orderId)).toBe(p === failing ? 0 : 1);
    }
    const stored = await storedIds(payments.map((p) => p.paymentId));
    expect(stored.map((row) => row.payment_id).sort()).toEqual(payments.filter((p) => p !== failing).map((p) => p.paymentId).sort());

    // The provider's retry, once the fault is gone, is applied once.
    poisoned.delete(failing.paymentId);
    const retry = await postRaw(webhook.notifyUrl(failing.provider), failing.held.raw);
    expect(retry.status).toBe(adapters.get(failing.provider)!.acknowledgement(true).status);
    expect(await status(failing.paymentId)).toBe("captured");
    expect(await capturedEvents(failing.orderId)).toBe(1);
  });
});
