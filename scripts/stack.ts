/**
 * The main job, end to end on one machine:
 * 1. a real Kafka broker (or KAFKA_BROKERS) and every topic of DESIGN.md with its DLQ;
 * 2. every service database created and migrated on POSTGRES_URL (default 127.0.0.1:5432);
 * 3. the provider sandbox and the order service, in this process;
 * 4. a smoke payment flow: an upstream system publishes `OrderPlaced` on `orders.inbound.v1` and
 *    calls `CreateOrder` over gRPC; both must come out as `OrderAccepted` on `orders.v1`, and a
 *    bad order as `OrderRejected`.
 * Then a status report. It stays up until Ctrl-C; `--exit` stops after the report. Exits non-zero
 * when any step fails.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Kafka, logLevel } from "kafkajs";
import { allTopics, ordersInboundTopic, ordersTopic } from "@tributary/contracts";
import { Channel, Provider } from "@tributary/contracts/common/v1/provider";
import {
  OrderAcceptedSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
  type OrderPlaced,
} from "@tributary/contracts/order/v1/order_events";
import { OrderService } from "@tributary/contracts/order/v1/order_service";
import { ensureTopics } from "@tributary/events";
import { closeClient, createClient } from "@tributary/grpc";
import { startKafka } from "@tributary/local-kafka";
import { databaseUrl, migrateAll, postgresServerUrl } from "@tributary/local-postgres";
import { ORDERS_READ, ORDERS_WRITE, startOrderService } from "@tributary/order";
import { startSandbox } from "@tributary/provider-sandbox";
import { assertKafkaReachable, assertPostgresReachable } from "@tributary/service-kit";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../..");

const stopSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const signalNumbers: Record<(typeof stopSignals)[number], number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { exit: { type: "boolean" } } });
  const started = Date.now();
  const stops: Array<() => Promise<void>> = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      for (const stop of stops.reverse()) await stop().catch((error: unknown) => console.error(error));
    })();
    return stopping;
  };
  // From the first moment: a signal during start-up stops what has started (the broker included)
  // and exits 128 + n; once up, it ends the wait below. Node's default for SIGTERM would exit
  // without running any of this and leave the broker and services running.
  let stopRequested: ((signal: string) => void) | undefined;
  for (const signal of stopSignals) {
    process.once(signal, () => {
      if (stopRequested !== undefined) {
        stopRequested(signal);
        return;
      }
      console.error(`stack: ${signal} during start-up, stopping`);
      void stopAll().finally(() => process.exit(128 + signalNumbers[signal]));
    });
  }
  // Re-parented means whoever started us is gone without a signal reaching us: stop as for SIGTERM.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.emit("SIGTERM", "SIGTERM");
  }, 1_000).unref();

  try {
    // Postgres first: it is quick to check, and a missing server should not cost a broker start.
    const serverUrl = postgresServerUrl(process.env);
    await assertPostgresReachable(serverUrl, process.env["POSTGRES_URL"] === undefined ? "POSTGRES_URL (unset: the default)" : "POSTGRES_URL");

    const existing = process.env["KAFKA_BROKERS"];
    let brokers: string[];
    if (existing !== undefined && existing !== "") {
      brokers = existing.split(",").map((broker) => broker.trim());
    } else {
      const cluster = await startKafka({ nodes: 1, dataDir: resolve(repoRoot, ".tributary/kafka") });
      brokers = [...cluster.brokers];
      stops.push(() => cluster.stop());
    }
    await assertKafkaReachable({ brokers }, existing ? "KAFKA_BROKERS" : "the local broker this command started");
    const kafka = new Kafka({ clientId: "tributary-stack", brokers, logLevel: logLevel.WARN });
    await ensureTopics(kafka, allTopics);

    // TRIBUTARY_DATABASE_SUFFIX (e.g. `_test_123`) runs the stack on its own set of databases,
    // as the stack's own tests do; unset, it uses the development databases.
    const databaseSuffix = process.env["TRIBUTARY_DATABASE_SUFFIX"] ?? "";
    const migrated = await migrateAll({ repoRoot, serverUrl, databaseSuffix });

    const sandbox = await startSandbox({ port: 0 });
    stops.push(() => sandbox.stop());

    const upstreamToken = randomBytes(24).toString("base64url");
    const order = await startOrderService({
      databaseUrl: databaseUrl(serverUrl, `tributary_order${databaseSuffix}`),
      kafkaBrokers: brokers,
      grpcAddress: process.env["ORDER_GRPC_ADDRESS"] ?? "127.0.0.1:0",
      tokens: { [upstreamToken]: { id: "stack-upstream", scopes: [ORDERS_WRITE, ORDERS_READ], grants: { merchants: "all" } } },
    });
    stops.push(() => order.stop());

    const smoke = await runSmokeFlow(kafka, order.address, upstreamToken);

    console.log(`Tributary local stack (up in ${Date.now() - started} ms)`);
    console.log(`  kafka     ${brokers.join(",")}${existing ? " (KAFKA_BROKERS)" : " (local KRaft broker)"}`);
    console.log(`  topics    ${allTopics.map((t) => t.name).join(", ")} (+ .dlq each)`);
    for (const database of migrated) {
      console.log(
        `  postgres  ${database.database}: ${database.applied.length} migrations applied now, ` +
          `${database.alreadyApplied.length} before (${database.service.packageName})`,
      );
    }
    console.log(`  sandbox   ${sandbox.url} (Alipay, WeChat Pay, UnionPay, JD Pay, e-CNY)`);
    console.log(`  order     gRPC tributary.order.v1.OrderService on ${order.address}`);
    console.log(`            token (orders:write orders:read): ${upstreamToken}`);
    for (const line of smoke) console.log(`  smoke     ${line}`);
    console.log(`KAFKA_BROKERS=${brokers.join(",")}`);

    if (values.exit === true) return;
    console.log("running; Ctrl-C (or SIGTERM) stops everything");
    const signal = await new Promise<string>((resolveStop) => {
      stopRequested = resolveStop;
    });
    console.log(`stack: ${signal}, stopping`);
  } finally {
    await stopAll();
  }
}

/** Places orders the two ways upstream systems do and waits for the order service's answers. */
async function runSmokeFlow(kafka: Kafka, orderAddress: string, token: string): Promise<string[]> {
  const merchantId = `stack-merchant-${Date.now()}`;
  // The same fields make an OrderPlaced event and a CreateOrderRequest.
  const orderFields = (ref: string, totalMinor: bigint) => ({
    merchantId,
    merchantOrderRef: ref,
    buyer: { buyerId: "buyer-1", country: "CN" },
    lines: [{ sku: "tea-001", category: "grocery", quantity: 2n, unitPrice: { currency: "CNY", amountMinor: 129_902n } }],
    total: { currency: "CNY", amountMinor: totalMinor },
    channel: Channel.APP,
    preferredProvider: Provider.WECHAT_PAY,
  });
  const placed = (ref: string, totalMinor: bigint): OrderPlaced => create(OrderPlacedSchema, orderFields(ref, totalMinor));

  const answers = new Map<string, string>();
  const expected = ["via-kafka", "via-kafka-bad-total", "via-grpc"];
  const consumer = kafka.consumer({ groupId: `stack-smoke-${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  await consumer.subscribe({ topic: ordersTopic.name, fromBeginning: false });
  const joined = new Promise<void>((resolveJoin) => consumer.on(consumer.events.GROUP_JOIN, () => resolveJoin()));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const type = String(message.headers?.["event-type"] ?? "");
      const value = message.value ?? Buffer.alloc(0);
      if (type === OrderAcceptedSchema.typeName) {
        const accepted = fromBinary(OrderAcceptedSchema, value);
        if (accepted.order?.merchantId === merchantId) answers.set(accepted.order.merchantOrderRef, `accepted as ${accepted.order.orderId}`);
      } else if (type === OrderRejectedSchema.typeName) {
        const rejected = fromBinary(OrderRejectedSchema, value);
        if (rejected.merchantId === merchantId) {
          answers.set(rejected.merchantOrderRef, `rejected: ${rejected.reasons.map((r) => `${r.field} ${r.description}`).join("; ")}`);
        }
      }
    },
  });
  await joined;

  try {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const viaKafka = [placed("via-kafka", 259_804n), placed("via-kafka-bad-total", 1n)];
      await producer.send({
        topic: ordersInboundTopic.name,
        acks: -1,
        messages: viaKafka.map((message) => ({
          key: `${merchantId}/${message.merchantOrderRef}`,
          value: Buffer.from(toBinary(OrderPlacedSchema, message)),
          headers: {
            "event-id": randomUUID(),
            "event-type": OrderPlacedSchema.typeName,
            "schema-version": "1",
            producer: "stack-upstream",
            "occurred-at": new Date().toISOString(),
            "content-type": "application/x-protobuf",
          },
        })),
      });
    } finally {
      await producer.disconnect();
    }

    const client = createClient(OrderService, orderAddress, { bearerToken: token, defaultDeadlineMs: 10_000 });
    try {
      const created = await client.createOrder(orderFields("via-grpc", 259_804n));
      if (!created.created) throw new Error("CreateOrder did not create the order");
    } catch (error) {
      throw new Error(`CreateOrder over gRPC failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    } finally {
      closeClient(client);
    }

    const deadline = Date.now() + 30_000;
    while (expected.some((ref) => !answers.has(ref)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await consumer.disconnect();
  }
  const missing = expected.filter((ref) => !answers.has(ref));
  if (missing.length > 0) throw new Error(`no answer on orders.v1 within 30 s for: ${missing.join(", ")}`);
  if (!answers.get("via-kafka-bad-total")?.startsWith("rejected")) throw new Error("the bad order was not rejected");
  return expected.map((ref) => `${ref}: ${answers.get(ref)}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    // Launcher and dependency errors are one line that says what to do; print just that.
    console.error(`✗ ${error instanceof Error ? error.message : String(error)}`);
    // Everything started was stopped in main's finally; exit even if a client left a socket open.
    process.exit(1);
  },
);
