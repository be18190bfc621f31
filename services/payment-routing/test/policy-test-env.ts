/**
 * Shared set-up of the policy store's and PaymentRoutingService's integration tests: the real
 * test database (routing tables emptied first and last, so files sharing it start from the seed),
 * the Prisma policy store with a clock the test moves, the outbox relay publishing to the real
 * broker, a watcher on `routing.v1`, and PaymentRoutingService served over a real port.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { findTopicMessage, routingTopic } from "@tributary/contracts";
import { PaymentRoutingService } from "@tributary/contracts/payment/v1/payment_routing_service";
import { ensureTopics, kafkaHeadersToRecord, newEventId, startOutboxRelay, type OutboxRelay } from "@tributary/events";
import { closeClient, createClient, createServer, RpcError, type RpcClient, type RpcServer, type TokenTable } from "@tributary/grpc";
import { testDatabaseUrl, testKafkaBrokers } from "@tributary/testkit/vitest";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import pg from "pg";
import { createPaymentRoutingGrpcRegistration } from "../src/adapters/grpc/payment-routing-grpc-registration.js";
import { openPolicyStore, type PolicyStore } from "../src/adapters/prisma/open-policy-store.js";
import { createHealthTracker, type HealthTracker } from "../src/app/health-tracker.js";
import { exampleMerchantIds, examplePolicy } from "../src/domain/routing/example-policy.js";
import type { RoutingPolicy } from "../src/domain/routing/routing-policy.js";

export const PRODUCER = "payment-routing";

/** Tokens of the tests: an operator, two shops bound to one merchant each, and two that may not change the policy. */
export const tokens = {
  operator: "operator-token-0123456789",
  shopTaobao: "shop-taobao-token-012345",
  shopSmall: "shop-small-token-0123456",
  boundAdmin: "bound-admin-token-012345",
  reader: "policy-reader-token-0123",
} as const;

const tokenTable: TokenTable = {
  [tokens.operator]: {
    id: "ops-alice",
    scopes: ["routing:read", "routing:admin", "routing:preview", "payments:read"],
    grants: { merchants: "all" },
  },
  [tokens.shopTaobao]: { id: "shop-taobao", scopes: ["routing:preview", "payments:read"], grants: { merchants: ["m-taobao-1"] } },
  [tokens.shopSmall]: { id: "shop-small", scopes: ["routing:preview", "payments:read"], grants: { merchants: ["m-small-2"] } },
  // Has the admin scope but acts for one merchant only: the policy spans all of them.
  [tokens.boundAdmin]: { id: "taobao-ops", scopes: ["routing:read", "routing:admin"], grants: { merchants: ["m-taobao-1"] } },
  [tokens.reader]: { id: "dashboard", scopes: ["routing:read"], grants: { merchants: "all" } },
};

/** A consumed `routing.v1` record, decoded. */
export interface RoutingRecord {
  readonly key: string;
  readonly type: string;
  readonly message: unknown;
}

/** Collects `routing.v1` from the beginning. */
export interface RoutingWatcher {
  readonly records: RoutingRecord[];
  waitFor(predicate: (record: RoutingRecord) => boolean, what: string, timeoutMs?: number): Promise<RoutingRecord>;
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

async function watchRouting(kafka: Kafka): Promise<RoutingWatcher> {
  const consumer: Consumer = kafka.consumer({ groupId: `routing-test-watch-${newEventId()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: routingTopic.name, fromBeginning: true });
  const records: RoutingRecord[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = kafkaHeadersToRecord(message.headers);
      const type = headers["event-type"] ?? "";
      const schema = findTopicMessage(routingTopic, type);
      const decoded = schema === undefined ? undefined : fromBinary(schema, message.value ?? Buffer.alloc(0));
      records.push({ key: message.key?.toString("utf8") ?? "", type, message: decoded });
    },
  });
  return {
    records,
    waitFor: (predicate, what, timeoutMs = 30_000) => eventually(async () => records.find(predicate), what, timeoutMs),
    stop: () => consumer.disconnect(),
  };
}

/** A clock the test sets; starts on the day the example roll-out's second step (10 %) is in force. */
export interface TestClock {
  now: Date;
  readonly read: () => Date;
}

/**
 * The seed of the tests: the example policy with its e-CNY roll-out under an id of this run, so
 * payments other test files write for the example roll-out never enter the guardrail's counts.
 */
export function testSeed(rolloutId: string): RoutingPolicy {
  const policy = examplePolicy();
  return { ...policy, rollouts: policy.rollouts.map((r) => ({ ...r, rolloutId, salt: rolloutId })) };
}

/** Everything a test file needs, started once in `beforeAll`. */
export interface PolicyTestEnv {
  /** The id of the seed's e-CNY roll-out. */
  readonly rolloutId: string;
  readonly databaseUrl: string;
  readonly pool: pg.Pool;
  readonly clock: TestClock;
  readonly store: PolicyStore;
  readonly health: HealthTracker;
  readonly relay: OutboxRelay;
  readonly routing: RoutingWatcher;
  readonly address: string;
  /** A PaymentRoutingService client with one of {@link tokens}. */
  client(token: string): RpcClient<typeof PaymentRoutingService>;
  /** Opens a second store on the same database (another instance). */
  openStore(seed?: RoutingPolicy): Promise<PolicyStore>;
  stop(): Promise<void>;
}

/** Empties the policy tables, so the next store starts from its seed. */
export async function resetPolicyTables(pool: pg.Pool): Promise<void> {
  await pool.query("TRUNCATE routing_policy_versions, routing_audit");
}

/** Starts the store, relay, watcher and gRPC server against the integration project's broker and database. */
export async function startPolicyTestEnv(): Promise<PolicyTestEnv> {
  const databaseUrl = testDatabaseUrl("tributary_payment_routing");
  const brokers = testKafkaBrokers();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  await resetPolicyTables(pool);
  const clock: TestClock = {
    now: new Date("2026-12-10T04:00:00Z"),
    read: () => clock.now,
  };
  const rolloutId = `ecny-test-${newEventId().slice(-12)}`;
  const openStore = (seed: RoutingPolicy = testSeed(rolloutId)): Promise<PolicyStore> =>
    openPolicyStore({ databaseUrl, producerName: PRODUCER, seed, references: () => ({ merchantIds: exampleMerchantIds }), clock: clock.read, refreshMs: 200 });
  const store = await openStore();
  const kafka = new Kafka({ clientId: "routing-tests", brokers: [...brokers], logLevel: logLevel.NOTHING });
  await ensureTopics(kafka, [routingTopic]);
  const relay = await startOutboxRelay({ pool, kafka, producerName: PRODUCER, pollIntervalMs: 100 });
  const routing = await watchRouting(kafka);
  const health = createHealthTracker(() => store.source.latest());
  const server: RpcServer = createServer({ tokens: tokenTable });
  createPaymentRoutingGrpcRegistration({
    policies: store.commands,
    policySource: store.source,
    health,
    payments: store.payments,
    clock: clock.read,
  })(server);
  const port = await server.listen("127.0.0.1:0");
  const address = `127.0.0.1:${port}`;
  const clients: RpcClient<typeof PaymentRoutingService>[] = [];
  return {
    rolloutId,
    databaseUrl,
    pool,
    clock,
    store,
    health,
    relay,
    routing,
    address,
    client(token) {
      const client = createClient(PaymentRoutingService, address, { bearerToken: token, defaultDeadlineMs: 20_000 });
      clients.push(client);
      return client;
    },
    openStore,
    async stop() {
      for (const c of clients) closeClient(c);
      await server.shutdown();
      await routing.stop();
      await relay.stop();
      await store.stop();
      await resetPolicyTables(pool);
      // Leave no payments behind for files that list or sweep the example merchants' payments.
      await pool.query("DELETE FROM payments WHERE routing_rule = $1", [SEEDED_RULE]);
      await pool.end();
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

/** One row of `payments` to seed, with defaults for what a test does not care about. */
export interface SeedPayment {
  readonly merchantId?: string;
  readonly buyerId?: string;
  readonly provider?: string;
  readonly status: "creating" | "pending" | "captured" | "failed" | "closed" | "review";
  readonly rolloutId?: string;
  readonly rolloutArm?: "treatment" | "control";
  readonly failureReason?: string;
  readonly createdAt: Date;
  readonly amountMinor?: bigint;
}

/** The routing_rule of seeded payments, by which {@link PolicyTestEnv.stop} removes them again. */
const SEEDED_RULE = "seeded-by-policy-tests";

/** Inserts payments rows as the lifecycle writes them (unique ids); returns the payment ids. */
export async function seedPayments(pool: pg.Pool, rows: readonly SeedPayment[]): Promise<string[]> {
  const ids: string[] = [];
  for (let offset = 0; offset < rows.length; offset += 500) {
    const chunk = rows.slice(offset, offset + 500);
    const values: unknown[] = [];
    const tuples = chunk.map((row, i) => {
      const paymentId = newEventId();
      ids.push(paymentId);
      const base = i * 12;
      values.push(
        paymentId,
        `order-${paymentId}`,
        row.merchantId ?? "m-taobao-1",
        row.buyerId ?? `buyer-${paymentId.slice(-8)}`,
        row.provider ?? "ecny",
        row.status,
        (row.amountMinor ?? 1000n).toString(),
        row.rolloutId ?? null,
        row.rolloutArm ?? null,
        row.failureReason ?? null,
        row.createdAt,
        row.status === "captured" ? row.createdAt : null,
      );
      const p = (n: number): string => `$${base + n}`;
      return (
        `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}::payment_provider, 'app', 0, ${p(6)}::payment_status, ${p(7)}::bigint, 'CNY', ` +
        `'${SEEDED_RULE}', '{}'::jsonb, ${p(8)}, ${p(9)}, ${p(10)}, ${p(11)}, ${p(11)}, ${p(11)}::timestamptz + interval '15 minutes', ${p(12)})`
      );
    });
    await pool.query(
      `INSERT INTO payments (payment_id, order_id, merchant_id, buyer_id, provider, channel, attempt, status, amount_minor, currency,
         routing_rule, routing_decision, rollout_id, rollout_arm, failure_reason, created_at, updated_at, expires_at, captured_at)
       VALUES ${tuples.join(", ")}`,
      values,
    );
  }
  return ids;
}
