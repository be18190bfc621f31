/**
 * Shared set-up of the order service's integration tests: the service started in-process on
 * port 0 against the real test database and broker, typed clients with each kind of token,
 * and helpers to publish upstream/payment events and watch what the service publishes.
 */
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { findTopicMessage, ordersInboundTopic, ordersTopic, paymentsTopic, type TopicDefinition } from "@tributary/contracts";
import { OrderService } from "@tributary/contracts/order/v1/order_service";
import { PaymentRoutedSchema } from "@tributary/contracts/payment/v1/payment_events";
import { Channel, Provider } from "@tributary/contracts/common/v1/provider";
import { envelopeHeaders, kafkaHeadersToRecord, newEventId, protobufContentType } from "@tributary/events";
import { closeClient, createClient, RpcError, type RpcClient, type TokenTable } from "@tributary/grpc";
import { startGroupAtTopicEnd, testDatabaseUrl, testKafkaBrokers } from "@tributary/testkit/vitest";
import { Kafka, logLevel, type Consumer, type Producer } from "kafkajs";
import pg from "pg";
import { ORDER_INTAKE_GROUP } from "../src/adapters/kafka/order-intake-consumer.js";
import { ORDER_PAYMENTS_GROUP } from "../src/adapters/kafka/payments-consumer.js";
import { startOrderService, type RunningOrderService } from "../src/order-service.js";

export const writerToken = "writer-token-0123";
export const readerToken = "reader-token-4567";
export const outsiderToken = "outsider-token-89ab";

/** A consumed Kafka record, decoded when its type belongs to the topic. */
export interface SeenRecord {
  readonly key: string;
  readonly headers: Record<string, string>;
  readonly value: Buffer;
  readonly message: unknown;
}

/** Collects every record of a topic from the beginning, for assertions with `waitFor`. */
export interface TopicWatcher {
  readonly records: SeenRecord[];
  waitFor(predicate: (record: SeenRecord) => boolean, what: string, timeoutMs?: number): Promise<SeenRecord>;
  stop(): Promise<void>;
}

/** Polls until `check` returns a value other than `undefined`; fails with `what` after the timeout. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function watchTopic(kafka: Kafka, topicName: string, topic: TopicDefinition | undefined): Promise<TopicWatcher> {
  const consumer: Consumer = kafka.consumer({ groupId: `order-test-watch-${newEventId()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: topicName, fromBeginning: true });
  const records: SeenRecord[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = kafkaHeadersToRecord(message.headers);
      const value = message.value ?? Buffer.alloc(0);
      const schema: DescMessage | undefined =
        topic === undefined ? undefined : findTopicMessage(topic, headers["event-type"] ?? "");
      let decoded: unknown;
      if (schema !== undefined) {
        try {
          decoded = fromBinary(schema, value);
        } catch {
          decoded = undefined;
        }
      }
      records.push({ key: message.key?.toString("utf8") ?? "", headers, value, message: decoded });
    },
  });
  return {
    records,
    waitFor: (predicate, what, timeoutMs = 30_000) =>
      eventually(async () => records.find(predicate), what, timeoutMs),
    stop: () => consumer.disconnect(),
  };
}

/** Everything a test file needs, started once in `beforeAll`. */
export interface OrderTestEnv {
  readonly service: RunningOrderService;
  readonly pool: pg.Pool;
  readonly writer: RpcClient<typeof OrderService>;
  readonly reader: RpcClient<typeof OrderService>;
  readonly outsider: RpcClient<typeof OrderService>;
  readonly anonymous: RpcClient<typeof OrderService>;
  readonly orders: TopicWatcher;
  readonly inboundDeadLetters: TopicWatcher;
  readonly paymentDeadLetters: TopicWatcher;
  /** Publishes one event with a valid envelope (or raw bytes under a given type). */
  publish<S extends DescMessage>(
    topicName: string,
    key: string,
    schema: S,
    message: MessageInitShape<S> | Uint8Array,
    eventId?: string,
  ): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts the service and the watchers against the integration project's broker and database.
 * The writer, reader and outsider tokens act for every merchant; `extraTokens` adds more (tokens
 * bound to a few merchants, for instance).
 */
export async function startOrderTestEnv(extraTokens: TokenTable = {}): Promise<OrderTestEnv> {
  const brokers = testKafkaBrokers();
  const databaseUrl = testDatabaseUrl("tributary_order");
  const kafka = new Kafka({ clientId: "order-tests", brokers: [...brokers], logLevel: logLevel.NOTHING });
  // The service's groups have their real names: a group new on this broker would start at the
  // earliest offset and apply the events earlier files left there (payment-routing's, say) first.
  await startGroupAtTopicEnd(kafka, ORDER_INTAKE_GROUP, ordersInboundTopic.name);
  await startGroupAtTopicEnd(kafka, ORDER_PAYMENTS_GROUP, paymentsTopic.name);
  const service = await startOrderService({
    databaseUrl,
    kafkaBrokers: brokers,
    grpcAddress: "127.0.0.1:0",
    tokens: {
      [writerToken]: { id: "shop-upstream", scopes: ["orders:write", "orders:read"], grants: { merchants: "all" } },
      [readerToken]: { id: "finance-dashboard", scopes: ["orders:read"], grants: { merchants: "all" } },
      [outsiderToken]: { id: "settlement", scopes: ["settlement:read"], grants: { merchants: "all" } },
      ...extraTokens,
    },
  });
  const producer: Producer = kafka.producer();
  await producer.connect();
  const [orders, inboundDeadLetters, paymentDeadLetters] = await Promise.all([
    watchTopic(kafka, ordersTopic.name, ordersTopic),
    watchTopic(kafka, "orders.inbound.v1.dlq", undefined),
    watchTopic(kafka, "payments.v1.dlq", undefined),
  ]);
  const client = (token?: string): RpcClient<typeof OrderService> =>
    createClient(OrderService, service.address, {
      ...(token === undefined ? {} : { bearerToken: token }),
      defaultDeadlineMs: 20_000,
    });
  const writer = client(writerToken);
  const reader = client(readerToken);
  const outsider = client(outsiderToken);
  const anonymous = client();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  return {
    service,
    pool,
    writer,
    reader,
    outsider,
    anonymous,
    orders,
    inboundDeadLetters,
    paymentDeadLetters,
    async publish(topicName, key, schema, message, eventId = newEventId()) {
      const value =
        message instanceof Uint8Array ? Buffer.from(message) : Buffer.from(toBinary(schema, create(schema, message)));
      await producer.send({
        topic: topicName,
        messages: [
          {
            key,
            value,
            headers: envelopeHeaders({
              eventId,
              eventType: schema.typeName,
              schemaVersion: "1",
              producer: "order-tests",
              occurredAt: new Date(),
              contentType: protobufContentType,
            }),
          },
        ],
      });
      return eventId;
    },
    async stop() {
      for (const c of [writer, reader, outsider, anonymous]) closeClient(c);
      await Promise.all([orders.stop(), inboundDeadLetters.stop(), paymentDeadLetters.stop()]);
      await producer.disconnect();
      await pool.end();
      await service.stop();
    },
  };
}

/** The RpcError a call fails with; fails the test when the call succeeds. */
export async function rpcError(call: Promise<unknown>): Promise<RpcError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof RpcError) return error;
    throw error;
  }
  throw new Error("the call succeeded but was expected to fail");
}

/** A unique merchant id per test, so tests sharing the database and topics never see each other. */
export function uniqueMerchant(label: string): string {
  return `m-${label}-${newEventId().slice(-12)}`;
}

/** A create request as plain data (assignable to the protobuf-es init shape), easy to mutate in tests. */
export interface PlainCreateRequest {
  merchantId: string;
  merchantOrderRef: string;
  buyer?: { buyerId: string; country: string; providerAccounts?: { provider: Provider; accountId: string }[] };
  lines: { sku: string; category: string; quantity: bigint; unitPrice?: { currency: string; amountMinor: bigint } }[];
  total?: { currency: string; amountMinor: bigint };
  channel: Channel;
  preferredProvider: Provider;
}

/** A valid create request: two lines, 2 × 19.99 + 1 × 5.00 CNY = 44.98 CNY. */
export function validOrder(merchantId: string, merchantOrderRef: string): PlainCreateRequest {
  return {
    merchantId,
    merchantOrderRef,
    buyer: { buyerId: "buyer-42", country: "CN" },
    lines: [
      { sku: "TSHIRT-RED-M", category: "apparel", quantity: 2n, unitPrice: { currency: "CNY", amountMinor: 1999n } },
      { sku: "GIFT-WRAP", category: "services", quantity: 1n, unitPrice: { currency: "CNY", amountMinor: 500n } },
    ],
    total: { currency: "CNY", amountMinor: 4498n },
    channel: Channel.MINI_PROGRAM,
    preferredProvider: Provider.WECHAT_PAY,
  };
}

/**
 * Waits until the payments consumer has handled (or dead-lettered) every earlier event of
 * `orderId`: it publishes a `PaymentRouted` marker (which changes nothing but is recorded in the
 * inbox) under the same key — same partition — and waits for its inbox row.
 */
export async function paymentsCaughtUpTo(env: OrderTestEnv, orderId: string): Promise<void> {
  const marker = await env.publish("payments.v1", orderId, PaymentRoutedSchema, {
    paymentId: `pay-marker-${newEventId()}`,
    orderId,
    merchantId: "marker",
    provider: Provider.ALIPAY,
    amount: { currency: "CNY", amountMinor: 1n },
  });
  await eventually(async () => {
    const result = await env.pool.query("SELECT 1 FROM inbox WHERE consumer_group = 'order-payments' AND event_id = $1", [marker]);
    return result.rowCount === 1 ? true : undefined;
  }, "payments consumer to catch up");
}
