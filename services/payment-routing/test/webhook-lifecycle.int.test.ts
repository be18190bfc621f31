import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
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
import { fixedPolicySource } from "../src/app/policy-source.js";
import { startPaymentRoutingService, type RunningPaymentRoutingService } from "../src/payment-routing-service.js";
import { hmacResponseMessage, hmacSignHex } from "../src/adapters/providers/hmac-json/client.js";
import { createProviderAdapters } from "../src/provider-adapters.js";
import { testPolicy } from "./payment-routing-test-env.js";
import { capturingLogger, deliveriesOf, eventually, postRaw } from "./webhook-support.js";

/*
 * The webhook server with the real payment lifecycle: the payment-routing service in-process
 * (real Kafka and Postgres) creates each payment at the sandbox from an OrderAccepted; its notify
 * URL is a balancer in front of TWO webhook instances (each its own pool) that hands every
 * notification to both at once; the sandbox sends each notification twice, byte-identical. Four
 * deliveries of one notification, two instances, one database: one PaymentCaptured in the outbox.
 */

describe("webhooks through the real lifecycle, two instances behind one endpoint", () => {
  let sandbox: RunningSandbox;
  let service: RunningPaymentRoutingService | undefined;
  const pools: pg.Pool[] = [];
  const webhooks: RunningWebhookServer[] = [];
  let balancer: ReturnType<typeof createServer>;
  /** Every notification the balancer passed on, as sent. */
  const seen: { path: string; raw: { headers: Record<string, string>; body: Buffer } }[] = [];
  let producer: Producer;
  const merchantId = `m-wh-${newEventId().slice(-12)}`;
  const databaseUrl = testDatabaseUrl("tributary_payment_routing");
  const { logger } = capturingLogger();

  beforeAll(async () => {
    const everyProvider = <T>(value: T) => Object.fromEntries(PROVIDER_IDS.map((id) => [sandboxProviderName(id), value]));
    sandbox = await startSandbox({
      port: 0,
      seed: 4_200,
      buyer: { mode: "manual" },
      faults: everyProvider({ duplicateNotifyRate: 1, duplicateNotifyMode: "identical" as const, duplicateNotifyDelayMs: 0 }),
      timing: { refundDelayMs: 100, notifyScheduleMs: everyProvider([0, 300, 300, 300, 300, 300]) },
    });
    const adapters = createProviderAdapters(sandbox.providers, { timeoutMs: 3_000 });
    // The lifecycle exists once the service has started; a notification before that is a 503.
    const lifecycle = () => {
      if (service === undefined) throw new Error("the service is not started yet");
      return service.lifecycle.notificationEffects;
    };
    const effects: NotificationEffects = {
      applyPayment: (tx, report, context) => lifecycle().applyPayment(tx, report, context),
      applyRefund: (tx, report, context) => lifecycle().applyRefund(tx, report, context),
    };
    for (let i = 0; i < 2; i += 1) {
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
      pools.push(pool);
      webhooks.push(await startWebhookServer({ adapters, pool, effects, logger, pruneIntervalMs: 0 }));
    }
    balancer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers[name] = value;
        const raw = { headers, body: Buffer.concat(chunks) };
        seen.push({ path: req.url ?? "", raw });
        Promise.all(webhooks.map((webhook) => postRaw(`${webhook.url}${req.url ?? "/"}`, raw)))
          .then(([first]) => res.writeHead(first!.status, first!.contentType === undefined ? {} : { "content-type": first!.contentType }).end(first!.body))
          .catch(() => res.writeHead(502).end());
      });
    });
    balancer.listen(0, "127.0.0.1");
    await once(balancer, "listening");
    service = await startPaymentRoutingService({
      databaseUrl,
      kafkaBrokers: testKafkaBrokers(),
      adapters,
      policySource: fixedPolicySource(testPolicy(merchantId, PROVIDER_IDS)),
      notifyBaseUrl: `http://127.0.0.1:${(balancer.address() as AddressInfo).port}`,
      ordersGroupId: `payment-routing-webhook-test-${newEventId()}`,
      // The first query comes late, so every capture arrives by notification.
      timings: { firstQueryAfterMs: 60_000, queryIntervalMs: 60_000, paymentTimeoutMs: 120_000, unknownRetryMs: 500, leaseMs: 15_000 },
      workerIntervalMs: 200,
      random: () => 0.5,
      logger,
    });
    producer = new Kafka({ clientId: "payment-routing-webhook-tests", brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await service?.stop();
    balancer?.closeAllConnections();
    await new Promise<void>((resolve) => (balancer === undefined ? resolve() : balancer.close(() => resolve())));
    for (const webhook of webhooks) await webhook.stop();
    for (const pool of pools) await pool.end();
    await sandbox?.stop();
  });

  const acceptOrder = async (provider: ProviderId, amountMinor: bigint): Promise<string> => {
    const orderId = newEventId();
    const message = create(OrderAcceptedSchema, {
      order: {
        orderId,
        merchantId,
        merchantOrderRef: `ref-${orderId}`,
        buyer: { buyerId: "buyer-wh", country: "CN" },
        lines: [{ sku: "SKU-1", category: "apparel", quantity: 1n, unitPrice: { currency: "CNY", amountMinor } }],
        total: { currency: "CNY", amountMinor },
        channel: ProtoChannel.WEB,
        preferredProvider: providerIdToProto(provider),
        status: OrderStatus.ACCEPTED,
      },
    });
    await producer.send({
      topic: "orders.v1",
      messages: [
        {
          key: orderId,
          value: Buffer.from(toBinary(OrderAcceptedSchema, message)),
          headers: envelopeHeaders({
            eventId: newEventId(),
            eventType: OrderAcceptedSchema.typeName,
            schemaVersion: "1",
            producer: "order",
            occurredAt: new Date(),
            contentType: protobufContentType,
          }),
        },
      ],
    });
    return orderId;
  };

  const pool = () => pools[0]!;
  const attemptOf = async (orderId: string, status: string) => {
    const rows = await pool().query<{ payment_id: string }>("SELECT payment_id FROM payments WHERE order_id = $1 AND status = $2::payment_status", [orderId, status]);
    return rows.rows[0]?.payment_id;
  };
  const eventsOf = async (orderId: string, type: string) => {
    const rows = await pool().query<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE message_key = $1 AND event_type = $2", [orderId, `tributary.payment.v1.${type}`]);
    return Number(rows.rows[0]?.n ?? "0");
  };
  const capturedEvents = (orderId: string) => eventsOf(orderId, "PaymentCaptured");
  const total = (provider: ProviderId, outcome: "applied" | "duplicate") => webhooks.reduce((sum, w) => sum + w.metrics.count(provider, outcome), 0);

  it.each(PROVIDER_IDS)("%s: four deliveries of one notification to two instances capture the payment once", async (provider) => {
    const orderId = await acceptOrder(provider, 129_902n);
    const paymentId = await eventually(`a pending ${provider} payment`, () => attemptOf(orderId, "pending"), 30_000);
    expect(sandbox.pay(sandboxProviderName(provider), paymentId)).toBe(true);
    await eventually("the original and its identical copy acknowledged", () => {
      const acked = deliveriesOf(sandbox, provider, paymentId).filter((d) => d.event !== "refund" && d.acked);
      return acked.some((d) => d.identicalReplay) && acked.some((d) => !d.duplicate);
    });
    expect(await attemptOf(orderId, "captured")).toBe(paymentId);
    expect(await capturedEvents(orderId)).toBe(1);
    expect(total(provider, "applied")).toBe(1);
    expect(total(provider, "duplicate")).toBe(3);
    const stored = await pool().query<{ n: string }>("SELECT count(*) AS n FROM webhook_notifications WHERE provider = $1::payment_provider AND payment_id = $2", [provider, paymentId]);
    expect(Number(stored.rows[0]?.n)).toBe(1);
  });
  it("jd_pay: a provider's 'closed' after the capture (out of order) is acknowledged and stored, and the lifecycle changes nothing", async () => {
    const provider: ProviderId = "jd_pay";
    const orderId = await acceptOrder(provider, 5_000n);
    const paymentId = await eventually("a pending JD Pay payment", () => attemptOf(orderId, "pending"), 30_000);
    expect(sandbox.pay(sandboxProviderName(provider), paymentId)).toBe(true);
    await eventually("the captured row", () => attemptOf(orderId, "captured"));
    const genuine = await eventually("the capture notification", () => seen.find((n) => n.path === "/webhooks/jd_pay" && n.raw.body.includes(paymentId)));
    // What JD Pay would send if the order had closed: a new event, signed with the merchant secret.
    const json = JSON.parse(genuine.raw.body.toString("utf8")) as { eventId: string; data: Record<string, unknown> };
    const body = JSON.stringify({ ...json, eventId: `${json.eventId}-closed`, data: { ...json.data, status: "CLOSED" } });
    const timestamp = Math.floor(Date.now() / 1000).toString();
    const nonce = newEventId();
    const signature = hmacSignHex(hmacResponseMessage(0, timestamp, nonce, body), sandbox.providers.jdpay.secret);
    const before = webhooks[1]!.metrics.count(provider, "ignored");
    const answer = await postRaw(webhooks[1]!.notifyUrl(provider), {
      headers: { "content-type": "application/json", "x-sandbox-timestamp": timestamp, "x-sandbox-nonce": nonce, "x-sandbox-signature": signature },
      body: Buffer.from(body),
    });
    expect(answer.status).toBe(200);
    expect(webhooks[1]!.metrics.count(provider, "ignored")).toBe(before + 1);
    expect(await attemptOf(orderId, "captured")).toBe(paymentId);
    expect(await capturedEvents(orderId)).toBe(1);
    expect(await eventsOf(orderId, "PaymentFailed")).toBe(0);
  });
});
