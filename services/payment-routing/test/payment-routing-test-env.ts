/**
 * Shared set-up of payment-routing's lifecycle integration tests: a real provider sandbox over
 * HTTP, the service started in-process against the real test database and broker, a small
 * notification endpoint standing in for the webhook layer (verify with the adapter, apply through
 * the lifecycle in one transaction, acknowledge as the provider expects), and helpers to publish
 * `orders.v1` events and watch `payments.v1`.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { channelIdToProto, findTopicMessage, paymentsTopic, PROVIDER_IDS, providerIdToProto, sandboxProviderName, type ProviderId } from "@tributary/contracts";
import { Provider as ProtoProvider } from "@tributary/contracts/common/v1/provider";
import { OrderAcceptedSchema } from "@tributary/contracts/order/v1/order_events";
import { OrderStatus } from "@tributary/contracts/order/v1/order";
import { envelopeHeaders, kafkaHeadersToRecord, newEventId, protobufContentType } from "@tributary/events";
import { startSandbox, type RunningSandbox, type SandboxOptions } from "@tributary/provider-sandbox";
import { freshTestDatabase, startGroupAtTopicEnd, testKafkaBrokers } from "@tributary/testkit/vitest";
import { Kafka, logLevel, type Consumer, type Producer } from "kafkajs";
import pg from "pg";
import { inTransaction } from "../src/adapters/db/in-transaction.js";
import { createPgPaymentStore } from "../src/adapters/db/pg-payment-store.js";
import type { NotificationError, ProviderAdapter, VerifiedNotification } from "../src/adapters/providers/provider-adapter.js";
import type { Result } from "@tributary/result";
import { fixedPolicySource } from "../src/app/policy-source.js";
import type { LifecycleTimings, PaymentRecord, RefundRecord } from "../src/app/ports.js";
import type { Channel } from "../src/domain/routing/routing-order.js";
import { examplePolicy } from "../src/domain/routing/example-policy.js";
import type { BreakerConfig } from "../src/domain/routing/health.js";
import type { RoutingPolicy } from "../src/domain/routing/routing-policy.js";
import { startPaymentRoutingService, type RunningPaymentRoutingService } from "../src/payment-routing-service.js";
import { createProviderAdapters, type ProviderSettings } from "../src/provider-adapters.js";

/** Polls until `check` returns a value other than `undefined`; fails with `what` after the timeout. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A record of `payments.v1`, decoded. */
export interface PaymentsRecord {
  readonly key: string;
  readonly type: string;
  readonly message: Record<string, unknown>;
}

/** Collects `payments.v1` from the beginning. */
async function watchPayments(kafka: Kafka): Promise<{ records: PaymentsRecord[]; stop(): Promise<void> }> {
  const consumer: Consumer = kafka.consumer({ groupId: `payment-routing-test-watch-${newEventId()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: paymentsTopic.name, fromBeginning: true });
  const records: PaymentsRecord[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = kafkaHeadersToRecord(message.headers);
      const type = headers["event-type"] ?? "";
      const schema: DescMessage | undefined = findTopicMessage(paymentsTopic, type);
      if (schema === undefined) return;
      const decoded = fromBinary(schema, message.value ?? Buffer.alloc(0)) as unknown as Record<string, unknown>;
      records.push({ key: message.key?.toString("utf8") ?? "", type: type.replace("tributary.payment.v1.", ""), message: decoded });
      await Promise.resolve();
    },
  });
  return { records, stop: () => consumer.disconnect() };
}

/** One notification the stand-in webhook endpoint received, and what came of it. */
export interface ReceivedNotification {
  readonly provider: ProviderId;
  readonly verified: Result<VerifiedNotification, NotificationError>;
  readonly outcome: string;
}

export interface TestEnvOptions {
  /** Sandbox options over the defaults (manual buyer, fast notification retries, fast refunds). */
  readonly sandbox?: SandboxOptions;
  /** The rails the test merchant has enabled; every one unless told. */
  readonly providers?: readonly ProviderId[];
  readonly timings?: Partial<LifecycleTimings>;
  readonly breaker?: Partial<BreakerConfig>;
  /** Changes the adapters' settings (e.g. a provider's URL pointing elsewhere). */
  readonly settings?: (settings: ProviderSettings) => ProviderSettings;
  /** Per provider request; 3 s unless told. */
  readonly providerTimeoutMs?: number;
}

export interface PaymentRoutingTestEnv {
  readonly service: RunningPaymentRoutingService;
  readonly sandbox: RunningSandbox;
  readonly pool: pg.Pool;
  readonly merchantId: string;
  readonly policy: RoutingPolicy;
  readonly adapters: readonly ProviderAdapter[];
  readonly payments: PaymentsRecord[];
  readonly notifications: ReceivedNotification[];
  /** Where the service tells providers to notify: `<base>/webhooks/<provider>`. */
  readonly notifyBaseUrl: string;
  /** Publishes OrderAccepted for a new order; returns its id. */
  acceptOrder(order?: {
    channel?: Channel;
    amountMinor?: bigint;
    preferred?: ProviderId;
    buyerId?: string;
    buyerAccounts?: Partial<Record<ProviderId, string>>;
  }): Promise<string>;
  /** Publishes any orders.v1 event with a valid envelope. */
  publishOrders<S extends DescMessage>(key: string, schema: S, message: MessageInitShape<S>): Promise<string>;
  attempts(orderId: string): Promise<PaymentRecord[]>;
  refunds(paymentId: string): Promise<RefundRecord[]>;
  /** Waits until an attempt of the order satisfies `predicate`. */
  waitForAttempt(orderId: string, predicate: (p: PaymentRecord) => boolean, what: string, timeoutMs?: number): Promise<PaymentRecord>;
  /** Waits until `payments.v1` carries an event of `type` for the order that satisfies `predicate`. */
  waitForEvent(orderId: string, type: string, predicate?: (message: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Every `payments.v1` event of the order so far, as `type`s in order. */
  eventTypes(orderId: string): string[];
  /** The sandbox pays an attempt (manual buyer). */
  pay(payment: PaymentRecord): boolean;
  /** Starts another instance of the service: same database, adapters and consumer group. Stopped with the env. */
  startInstance(): Promise<RunningPaymentRoutingService>;
  stop(): Promise<void>;
}

/** The test merchant's policy: every rail with the example fees, no rules or roll-outs, no exploration. */
export function testPolicy(merchantId: string, providers: readonly ProviderId[], breaker: Partial<BreakerConfig> = {}): RoutingPolicy {
  const base = examplePolicy();
  return {
    ...base,
    merchants: [{ merchantId, enabledProviders: [...providers] }],
    rules: [],
    rollouts: [],
    health: { ...base.health, explorationShare: 0 },
    breaker: { ...base.breaker, ...breaker },
  };
}

/** A stand-in for the webhook layer: verify, apply in one transaction, acknowledge. */
async function startNotificationEndpoint(
  adapters: () => ReadonlyMap<ProviderId, ProviderAdapter>,
  service: () => RunningPaymentRoutingService | undefined,
  pool: pg.Pool,
  received: ReceivedNotification[],
): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const provider = (req.url ?? "").split("/").at(-1) as ProviderId;
      const adapter = adapters().get(provider);
      const running = service();
      if (adapter === undefined || running === undefined) {
        res.writeHead(503).end();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers[name] = value;
      const verified = adapter.verifyNotification({ headers, body: Buffer.concat(chunks) });
      const answer = async (): Promise<boolean> => {
        if (!verified.ok) {
          received.push({ provider, verified, outcome: "refused" });
          return false;
        }
        const notification = verified.value;
        const outcome = await inTransaction(pool, (tx) =>
          notification.kind === "payment"
            ? running.lifecycle.notificationEffects.applyPayment(tx, notification.report, {})
            : running.lifecycle.notificationEffects.applyRefund(tx, notification.report, {}),
        );
        received.push({ provider, verified, outcome: outcome.code });
        return outcome.code !== "retry_later";
      };
      answer().then(
        (accepted) => {
          const ack = adapter.acknowledgement(accepted);
          res.writeHead(ack.status, ack.headers).end(ack.body);
        },
        () => res.writeHead(500).end(),
      );
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

/** The testkit's, re-exported for this package's tests: each file's orders group starts at the topic's end. */
export { startGroupAtTopicEnd };

/** Starts a sandbox, the notification endpoint and the service for one test file. */
export async function startPaymentRoutingTestEnv(options: TestEnvOptions = {}): Promise<PaymentRoutingTestEnv> {
  const merchantId = `m-pr-${newEventId().slice(-12)}`;
  const providers = options.providers ?? PROVIDER_IDS;
  const policy = testPolicy(merchantId, providers, options.breaker);
  const sandbox = await startSandbox({
    port: 0,
    seed: 7,
    buyer: { mode: "manual" },
    ...options.sandbox,
    timing: {
      refundDelayMs: 100,
      notifyScheduleMs: { alipay: [0, 500, 1000], wechat: [0, 500, 1000], unionpay: [0, 500, 1000], jdpay: [0, 500, 1000], ecny: [0, 500, 1000] },
      ...options.sandbox?.timing,
    },
  });
  // A database of its own: the payment worker claims every due attempt in its database, and on the
  // shared one it also worked those earlier files left behind, delaying this file's attempts.
  const database = await freshTestDatabase("tributary_payment_routing");
  const databaseUrl = database.url;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const notifications: ReceivedNotification[] = [];
  const started: { service?: RunningPaymentRoutingService } = {};
  const settings = options.settings === undefined ? sandbox.providers : options.settings(sandbox.providers);
  const adapters = createProviderAdapters(settings, { timeoutMs: options.providerTimeoutMs ?? 3_000 });
  const byProvider = new Map(adapters.map((a) => [a.provider, a]));
  const endpoint = await startNotificationEndpoint(() => byProvider, () => started.service, pool, notifications);
  const brokers = testKafkaBrokers();
  const serviceConfig = {
    databaseUrl,
    kafkaBrokers: brokers,
    adapters,
    policySource: fixedPolicySource(policy),
    notifyBaseUrl: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`,
    ordersGroupId: `payment-routing-test-${newEventId()}`,
    timings: { firstQueryAfterMs: 2_000, queryIntervalMs: 1_000, paymentTimeoutMs: 120_000, unknownRetryMs: 500, leaseMs: 15_000, refundQueryAfterMs: 300, ...options.timings },
    workerIntervalMs: 200,
    random: () => 0.5,
  };
  const kafka = new Kafka({ clientId: "payment-routing-tests", brokers: [...brokers], logLevel: logLevel.NOTHING });
  await startGroupAtTopicEnd(kafka, serviceConfig.ordersGroupId, "orders.v1");
  const running = await startPaymentRoutingService(serviceConfig);
  const others: RunningPaymentRoutingService[] = [];
  started.service = running;
  const producer: Producer = kafka.producer();
  await producer.connect();
  const watcher = await watchPayments(kafka);
  const store = createPgPaymentStore();

  const publishOrders = async <S extends DescMessage>(key: string, schema: S, message: MessageInitShape<S>): Promise<string> => {
    const eventId = newEventId();
    await producer.send({
      topic: "orders.v1",
      messages: [
        {
          key,
          value: Buffer.from(toBinary(schema, create(schema, message))),
          headers: envelopeHeaders({
            eventId,
            eventType: schema.typeName,
            schemaVersion: "1",
            producer: "order",
            occurredAt: new Date(),
            contentType: protobufContentType,
          }),
        },
      ],
    });
    return eventId;
  };

  const attempts = (orderId: string) => store.paymentsOfOrder(pool, orderId, { forUpdate: false });
  const recordsOf = (orderId: string) => watcher.records.filter((r) => r.key === orderId);

  return {
    service: running,
    sandbox,
    pool,
    merchantId,
    policy,
    adapters,
    payments: watcher.records,
    notifications,
    notifyBaseUrl: serviceConfig.notifyBaseUrl,
    async acceptOrder(order = {}) {
      const orderId = newEventId();
      const amountMinor = order.amountMinor ?? 12_345n;
      await publishOrders(orderId, OrderAcceptedSchema, {
        order: {
          orderId,
          merchantId,
          merchantOrderRef: `ref-${orderId}`,
          buyer: {
            buyerId: order.buyerId ?? "buyer-1",
            country: "CN",
            providerAccounts: Object.entries(order.buyerAccounts ?? {}).map(([provider, accountId]) => ({
              provider: providerIdToProto(provider as ProviderId),
              accountId,
            })),
          },
          lines: [{ sku: "SKU-1", category: "apparel", quantity: 1n, unitPrice: { currency: "CNY", amountMinor } }],
          total: { currency: "CNY", amountMinor },
          channel: channelIdToProto(order.channel ?? "web"),
          preferredProvider: order.preferred === undefined ? ProtoProvider.UNSPECIFIED : providerIdToProto(order.preferred),
          status: OrderStatus.ACCEPTED,
        },
      });
      return orderId;
    },
    publishOrders,
    attempts,
    refunds: (paymentId) => store.refundsOfPayment(pool, paymentId),
    waitForAttempt: (orderId, predicate, what, timeoutMs = 30_000) =>
      eventually(async () => (await attempts(orderId)).find(predicate), what, timeoutMs),
    waitForEvent: (orderId, type, predicate = () => true, timeoutMs = 30_000) =>
      eventually(() => recordsOf(orderId).find((r) => r.type === type && predicate(r.message))?.message, `${type} for order ${orderId}`, timeoutMs),
    eventTypes: (orderId) => recordsOf(orderId).map((r) => r.type),
    pay: (payment) => sandbox.pay(sandboxProviderName(payment.provider), payment.paymentId),
    async startInstance() {
      const other = await startPaymentRoutingService(serviceConfig);
      others.push(other);
      return other;
    },
    async stop() {
      for (const other of others) await other.stop();
      await running.stop();
      await watcher.stop();
      await producer.disconnect();
      await pool.end();
      await database.drop();
      endpoint.closeAllConnections();
      await new Promise<void>((resolve) => endpoint.close(() => resolve()));
      await sandbox.stop();
    },
  };
}

/** What the fault proxy does with one request. */
export type ProxyFault =
  /** Forward it and pass the answer back. */
  | "pass"
  /** Answer 502 without forwarding: the provider never saw it. */
  | "bad_gateway"
  /** Forward it, let the provider process it, then drop our connection without an answer. */
  | "drop_answer";

/**
 * A network fault between us and the sandbox (at `targetUrl()`, read per request), decided per
 * request: `decide(method, path)` says what happens to each one. The sandbox itself stays the real thing behind it.
 */
export async function startFaultProxy(targetUrl: () => string, decide: (method: string, path: string) => ProxyFault): Promise<{ url: string; stop(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const fault = decide(req.method ?? "GET", req.url ?? "/");
      if (fault === "bad_gateway") {
        res.writeHead(502, { "content-type": "text/html" }).end("<html><body>502 Bad Gateway</body></html>");
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string" && name !== "host") headers[name] = value;
      fetch(new URL(req.url ?? "/", targetUrl()), {
        method: req.method ?? "GET",
        headers,
        ...(req.method === "GET" || req.method === "HEAD" ? {} : { body: Buffer.concat(chunks) }),
      }).then(
        async (answer) => {
          const body = Buffer.from(await answer.arrayBuffer());
          if (fault === "drop_answer") {
            req.socket.destroy();
            return;
          }
          const out: Record<string, string> = {};
          answer.headers.forEach((value, name) => {
            if (!["content-length", "transfer-encoding", "connection", "content-encoding"].includes(name)) out[name] = value;
          });
          res.writeHead(answer.status, out).end(body);
        },
        () => res.writeHead(502).end(),
      );
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
