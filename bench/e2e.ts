/**
 * `npm run bench -- e2e`: payments per second from OrderPlaced to the capture's ledger posting,
 * through the order service, payment-routing and settlement, each its own process, on this machine
 * with everything else (broker, Postgres, the provider sandbox, this driver) on it too.
 *
 * - set-up: the testkit's broker (a fresh one unless KAFKA_BROKERS), three scratch databases
 *   `tributary_{order,payment_routing,settlement}_bench_test_<pid>` migrated like the services'
 *   own and dropped at the end; payment-routing started by @tributary/cli's
 *   `startPaymentRoutingProcess`, order and settlement by its `startOrderProcess` and
 *   `startSettlementProcess`, as the stack starts them; the sandbox in this process, its buyers paying at once
 *   (simulated, payProbability 1, no late payments, 0 ms, no faults).
 * - subject: OrderPlaced published on orders.inbound.v1 as an upstream order system does
 *   (apps/cli's publishOrders: key `merchant/ref`, the envelope headers, the idempotent producer,
 *   acks from every in-sync replica), one order per send; accepted by the order service
 *   (OrderAccepted on orders.v1), routed, created at the rail, paid by the buyer, notified to
 *   payment-routing's webhook, captured (PaymentCaptured on payments.v1), posted by settlement. A
 *   payment counts when settlement's `payment_captured` journal entry for its order is in its
 *   database with phase `posted` (polled every BENCH_E2E_POLL_MS, 20: the order's id from the order
 *   service's `orders` by merchant and ref, then `journal_entry` by `order_id`). Latency =
 *   publish time (Date.now() just before the send) → the entry's `recorded_at` (Postgres' now(),
 *   the start of settlement's transaction), both the machine's clock; the poll interval does not
 *   enter it.
 * - phase 1, sustained: BENCH_E2E_ORDERS (400) orders per round, BENCH_E2E_IN_FLIGHT (64) in
 *   flight, closed loop; rate = orders ÷ (last entry's recorded_at − first publish). p50/p95/p99
 *   of that phase are latencies under saturation (closed loop: ≈ in flight ÷ rate).
 * - phase 2, half rate: open loop at half the median sustained rate, BENCH_E2E_HALF_RATE_ORDERS
 *   (half of BENCH_E2E_ORDERS) per round, publishes on a fixed schedule whatever comes back;
 *   its p99 is the goal's "p99 at half that rate".
 * - baseline: raw kafkajs, the same number of messages as a subject round, each the same bytes and
 *   headers as an OrderPlaced, sent in batches of 500 (acks -1) to a 12-partition topic of its own
 *   and consumed by a plain `eachMessage` consumer; rate = messages ÷ (last consumed − first send).
 * - rounds: a warm-up of each (the raw side one round; the subject rounds of
 *   BENCH_E2E_WARMUP_ORDERS, one round's worth unless told, until BENCH_E2E_WARMUP_SECONDS, 60,
 *   have passed), then BENCH_ROUNDS (5) baseline and sustained rounds
 *   alternating, then BENCH_ROUNDS half-rate rounds; every round printed; `ratio` = median of the
 *   per-round sustained/raw ratios.
 * - CPU: `cpuMsPerPayment` = the three service processes' user + system CPU (/proc/<pid>/stat,
 *   every thread) over a sustained round ÷ its payments (goal ≤ 1.0), idle polling included (the
 *   idle rate is measured for 3 s and reported); this process's too, for context.
 * - signature bound (bench/_e2e-rsa.ts): RSA-2048 sign/verify and HMAC-SHA256 measured before each
 *   round pair; cores ÷ signature CPU per payment for the rails captured.
 * - check: after the rounds, every order published has exactly one accepted order, one captured
 *   payment and one posted capture entry (no failed payment, no second entry), counted in the
 *   three databases; the bench fails otherwise.
 * - profile: BENCH_E2E_SERVICE_NODE_ARGS (space-separated, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`)
 *   go to all three service processes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { startOrderProcess, startPaymentRoutingProcess, startSettlementProcess, type StackContext, type StackService } from "@tributary/cli";
import { allTopics, ordersInboundTopic, PROVIDER_IDS, providerIdToProto, type ProviderId } from "@tributary/contracts";
import { Channel as ProtoChannel } from "@tributary/contracts/common/v1/provider";
import { OrderPlacedSchema } from "@tributary/contracts/order/v1/order_events";
import { createIdempotentProducer, ensureTopics, envelopeHeaders, newEventId, protobufContentType } from "@tributary/events";
import { databaseUrl, dropDatabase, ensureDatabase, findServiceDatabases, migrateServiceDatabase } from "@tributary/local-postgres";
import { DEFAULT_KEYS_DIR, startSandbox } from "@tributary/provider-sandbox";
import { kafka as testKafka, postgres as testPostgres } from "@tributary/testkit";
import { Kafka, logLevel, type Consumer, type Producer } from "kafkajs";
import pg from "pg";
import { measureSignatureRates, signatureBound, type SignatureRates } from "./_e2e-rsa.js";
import { describeSpread, log, median, pairedRatios, roundCount, spreadOf, type Spread } from "./_rounds.js";

process.env["KAFKAJS_NO_PARTITIONER_WARNING"] = "1";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const envInt = (name: string, fallback: number) => Number.parseInt(process.env[name] ?? String(fallback), 10);

/** Orders per sustained round (and messages per raw round). */
const ordersPerRound = envInt("BENCH_E2E_ORDERS", 400);
/** Orders in flight in the sustained phase (closed loop). */
const inFlight = envInt("BENCH_E2E_IN_FLIGHT", 64);
/** Orders per half-rate round. */
const halfRateOrders = envInt("BENCH_E2E_HALF_RATE_ORDERS", Math.max(1, Math.round(ordersPerRound / 2)));
/** Orders of each warm-up round (one sustained round's worth unless told). */
const warmupOrders = envInt("BENCH_E2E_WARMUP_ORDERS", ordersPerRound);
/**
 * Seconds of warm-up (whole warm-up rounds until they have passed). One 400-order round was too
 * short: in every run of 2026-12-01 18:29–18:38 payments/s rose round after round (first 50, 52,
 * 29, 51, 16 → last 63, 85, 67, 59, 63) as CPU per payment fell, so no run agreed within 15 %; the
 * routing bench needed 60 s for the same reason (bench/_routing-e2e.ts).
 */
const warmupSeconds = Number.parseFloat(process.env["BENCH_E2E_WARMUP_SECONDS"] ?? "60");
/** How often the databases are asked which orders are posted. */
const pollMs = envInt("BENCH_E2E_POLL_MS", 20);
/** A round that posts nothing for this long has stalled: the bench stops and says so. */
const stallMs = 60_000;
const idleSeconds = 3;
const merchantId = "m-taobao-1";
const ecnyTrialBuyer = "b-staff-1";
/** The raw baseline's topic: as many partitions as orders.inbound.v1. */
const rawTopic = "bench.e2e.raw.v1";

const goals = { paymentsPerSecond: 2_000, p99MsAtHalfRate: 250, cpuMsPerPayment: 1.0 } as const;

interface RoundResult {
  readonly count: number;
  readonly ms: number;
  readonly latenciesMs: readonly number[];
}

function loadText(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(", ");
}

function rate(count: number, ms: number): number {
  return Math.round((count * 1_000) / ms);
}

/** Nearest-rank percentile of a non-empty list. */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error("percentile of no values");
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function latencySummary(latencies: readonly number[]) {
  return {
    p50Ms: Number(percentile(latencies, 50).toFixed(1)),
    p95Ms: Number(percentile(latencies, 95).toFixed(1)),
    p99Ms: Number(percentile(latencies, 99).toFixed(1)),
    maxMs: Number(Math.max(...latencies).toFixed(1)),
  };
}

function serviceCpuMs(service: StackService): number {
  const cpu = service.process.cpuTime();
  if (cpu === undefined) throw new Error(`${service.name} (pid ${service.process.pid}) has exited; see ${service.process.logFile}`);
  return cpu.userMs + cpu.systemMs;
}

function cpuMs(services: readonly StackService[]): number {
  return services.reduce((total, service) => total + serviceCpuMs(service), 0);
}

/** One OrderPlaced of the mix: merchant m-taobao-1, web, the preferred rail round-robin over all five. */
function orderPlaced(sequence: number, ref: string) {
  const provider: ProviderId = PROVIDER_IDS[sequence % PROVIDER_IDS.length]!;
  const amountMinor = BigInt(100 + ((sequence * 7_919) % 999_900));
  return create(OrderPlacedSchema, {
    merchantId,
    merchantOrderRef: ref,
    buyer: { buyerId: provider === "ecny" ? ecnyTrialBuyer : `buyer-${1 + (sequence % 1_500)}`, country: "CN" },
    lines: [{ sku: `sku-0-${sequence % 500}`, category: "apparel", quantity: 1n, unitPrice: { currency: "CNY", amountMinor } }],
    total: { currency: "CNY", amountMinor },
    channel: ProtoChannel.WEB,
    preferredProvider: providerIdToProto(provider),
  });
}

function orderMessage(sequence: number, ref: string) {
  return {
    key: `${merchantId}/${ref}`,
    value: Buffer.from(toBinary(OrderPlacedSchema, orderPlaced(sequence, ref))),
    headers: envelopeHeaders({
      eventId: newEventId(),
      eventType: OrderPlacedSchema.typeName,
      schemaVersion: "1",
      producer: "simulated-upstream",
      occurredAt: new Date(),
      contentType: protobufContentType,
    }),
  };
}

interface Pending {
  readonly publishedAtMs: number;
  orderId?: string;
  readonly done: (latencyMs: number, postedAtMs: number) => void;
}

/**
 * The subject's driver: publishes orders and learns from the order service's and settlement's
 * databases when each one's capture is posted.
 */
async function startDriver(kafka: Kafka, orderDb: pg.Pool, settlementDb: pg.Pool, runId: string) {
  const producer: Producer = createIdempotentProducer(kafka);
  await producer.connect();
  const pending = new Map<string, Pending>(); // by merchant_order_ref
  const byOrderId = new Map<string, string>(); // order_id → ref
  let sequence = 0;
  let lastProgressAt = Date.now();
  let stopped = false;
  let pollError: unknown;
  const capturedByProvider: Record<string, number> = {};
  /** The driver's own queries per database (each its own transaction), to take out of pg_stat_database's counts. */
  const queries = { order: 0, settlement: 0 };

  const poll = async () => {
    const unresolved = [...pending.entries()].filter(([, p]) => p.orderId === undefined).map(([ref]) => ref);
    if (unresolved.length > 0) {
      queries.order += 1;
      const { rows } = await orderDb.query<{ merchant_order_ref: string; order_id: string }>(
        "SELECT merchant_order_ref, order_id FROM orders WHERE merchant_id = $1 AND merchant_order_ref = ANY($2::text[])",
        [merchantId, unresolved],
      );
      for (const row of rows) {
        const p = pending.get(row.merchant_order_ref);
        if (p === undefined || p.orderId !== undefined) continue;
        p.orderId = row.order_id;
        byOrderId.set(row.order_id, row.merchant_order_ref);
      }
    }
    const orderIds = [...byOrderId.keys()];
    if (orderIds.length > 0) {
      queries.settlement += 1;
      const { rows } = await settlementDb.query<{ order_id: string; provider: string; at_ms: number }>(
        `SELECT order_id, provider::text AS provider, (extract(epoch FROM recorded_at) * 1000)::float8 AS at_ms
           FROM journal_entry WHERE entry_type = 'payment_captured' AND phase = 'posted' AND order_id = ANY($1::text[])`,
        [orderIds],
      );
      for (const row of rows) {
        const ref = byOrderId.get(row.order_id);
        if (ref === undefined) continue;
        const p = pending.get(ref);
        byOrderId.delete(row.order_id);
        pending.delete(ref);
        if (p === undefined) continue;
        capturedByProvider[row.provider] = (capturedByProvider[row.provider] ?? 0) + 1;
        lastProgressAt = Date.now();
        p.done(row.at_ms - p.publishedAtMs, row.at_ms);
      }
    }
  };
  const pollLoop = (async () => {
    while (!stopped) {
      try {
        await poll();
      } catch (error) {
        pollError = error;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  })();

  /** Publishes one order; resolves with its latency and posting time once its capture is posted. */
  const placeOrder = async (): Promise<{ latencyMs: number; postedAtMs: number; publishedAtMs: number }> => {
    sequence += 1;
    const ref = `e2e-${runId}-${String(sequence).padStart(7, "0")}`;
    const message = orderMessage(sequence, ref);
    const publishedAtMs = Date.now();
    const posted = new Promise<{ latencyMs: number; postedAtMs: number }>((resolve) =>
      pending.set(ref, { publishedAtMs, done: (latencyMs, postedAtMs) => resolve({ latencyMs, postedAtMs }) }),
    );
    await producer.send({ topic: ordersInboundTopic.name, acks: -1, messages: [message] });
    return { ...(await posted), publishedAtMs };
  };

  /** Rejects when nothing has been posted for {@link stallMs} with orders in flight, or the poll failed. */
  const watch = async <T>(work: Promise<T>): Promise<T> => {
    lastProgressAt = Date.now();
    let watchdog: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      watchdog = setInterval(() => {
        if (pollError !== undefined) reject(pollError instanceof Error ? pollError : new Error("e2e: polling the databases failed", { cause: pollError }));
        const unresolved = [...pending.values()].filter((p) => p.orderId === undefined).length;
        if (Date.now() - lastProgressAt > stallMs) {
          reject(new Error(`e2e: nothing posted for ${stallMs / 1_000} s with ${pending.size} orders in flight (${unresolved} not accepted yet): stalled`));
        }
      }, 1_000);
    });
    try {
      return await Promise.race([work, stalled]);
    } finally {
      clearInterval(watchdog);
    }
  };

  return {
    /** Closed loop: `count` orders, `lanes` in flight. */
    async sustained(count: number, lanes: number): Promise<RoundResult> {
      let issued = 0;
      let firstPublishMs = Number.POSITIVE_INFINITY;
      let lastPostedMs = 0;
      const latenciesMs: number[] = [];
      const lane = async () => {
        while (issued < count) {
          issued += 1;
          const r = await placeOrder();
          firstPublishMs = Math.min(firstPublishMs, r.publishedAtMs);
          lastPostedMs = Math.max(lastPostedMs, r.postedAtMs);
          latenciesMs.push(r.latencyMs);
        }
      };
      await watch(Promise.all(Array.from({ length: Math.min(lanes, count) }, lane)));
      return { count: latenciesMs.length, ms: lastPostedMs - firstPublishMs, latenciesMs };
    },
    /** Open loop: `count` orders published at `perSecond` on a fixed schedule, whatever comes back. */
    async offered(count: number, perSecond: number): Promise<RoundResult> {
      const intervalMs = 1_000 / perSecond;
      const startMs = Date.now();
      const results: Array<Promise<{ latencyMs: number; postedAtMs: number; publishedAtMs: number }>> = [];
      for (let i = 0; i < count; i += 1) {
        const dueMs = startMs + i * intervalMs;
        const waitMs = dueMs - Date.now();
        if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
        results.push(placeOrder());
      }
      const done = await watch(Promise.all(results));
      const firstPublishMs = Math.min(...done.map((r) => r.publishedAtMs));
      const lastPostedMs = Math.max(...done.map((r) => r.postedAtMs));
      return { count: done.length, ms: lastPostedMs - firstPublishMs, latenciesMs: done.map((r) => r.latencyMs) };
    },
    published: () => sequence,
    queries: () => ({ ...queries }),
    capturedByProvider: () => ({ ...capturedByProvider }),
    resetCounts: () => {
      for (const key of Object.keys(capturedByProvider)) delete capturedByProvider[key];
    },
    async stop() {
      stopped = true;
      await pollLoop;
      await producer.disconnect();
    },
  };
}

/** The raw baseline: kafkajs produce → consume of `count` OrderPlaced-sized messages. */
async function startRaw(kafka: Kafka) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: rawTopic, numPartitions: ordersInboundTopic.provisioning.partitions, replicationFactor: 1 }] });
  await admin.disconnect();
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const consumer: Consumer = kafka.consumer({ groupId: `e2e-raw-${newEventId()}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic: rawTopic, fromBeginning: true });
  let received = 0;
  let lastReceivedMs = 0;
  let waiting: { target: number; resolve: () => void } | undefined;
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value === null) return;
      received += 1;
      lastReceivedMs = Date.now();
      if (waiting !== undefined && received >= waiting.target) waiting.resolve();
    },
  });
  let sequence = 0;
  return {
    async round(count: number): Promise<RoundResult> {
      const target = received + count;
      const all = new Promise<void>((resolve) => (waiting = { target, resolve }));
      const startMs = Date.now();
      for (let start = 0; start < count; start += 500) {
        const messages = Array.from({ length: Math.min(500, count - start) }, () => {
          sequence += 1;
          return orderMessage(sequence, `raw-${String(sequence).padStart(7, "0")}`);
        });
        await producer.send({ topic: rawTopic, acks: -1, messages });
      }
      await all;
      waiting = undefined;
      return { count, ms: lastReceivedMs - startMs, latenciesMs: [] };
    },
    async stop() {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}

async function main() {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => log(`stop failed: ${String(error)}`));
  };
  try {
    log(`e2e: load ${loadText()}; starting a broker, three scratch databases, the sandbox, and order, payment-routing and settlement (own processes)`);
    const broker = await testKafka();
    stops.push(() => broker.stop());
    const server = await testPostgres();
    stops.push(() => server.stop());
    const databaseSuffix = `_bench_test_${process.pid}`;
    const declared = await findServiceDatabases(repoRoot);
    const pools: Record<string, pg.Pool> = {};
    for (const packageName of ["@tributary/order", "@tributary/payment-routing", "@tributary/settlement"]) {
      const service = declared.find((s) => s.packageName === packageName);
      if (service === undefined) throw new Error(`${packageName} declares no database`);
      const database = `${service.database}${databaseSuffix}`;
      await dropDatabase(server.serverUrl, database);
      await ensureDatabase(server.serverUrl, database);
      stops.push(() => dropDatabase(server.serverUrl, database));
      await migrateServiceDatabase(databaseUrl(server.serverUrl, database), service);
      const pool = new pg.Pool({ connectionString: databaseUrl(server.serverUrl, database), max: 2 });
      stops.push(() => pool.end());
      pools[packageName] = pool;
    }
    const orderDb = pools["@tributary/order"]!;
    const routingDb = pools["@tributary/payment-routing"]!;
    const settlementDb = pools["@tributary/settlement"]!;

    // The databases' own counters: how many transactions and rows one payment costs each service.
    const stats = new pg.Pool({ connectionString: server.serverUrl, max: 1 });
    stops.push(() => stats.end());
    const databaseCounters = async (): Promise<Record<string, { xact: number; written: number }>> => {
      const { rows } = await stats.query<{ datname: string; xact: string; written: string }>(
        "SELECT datname, xact_commit + xact_rollback AS xact, tup_inserted + tup_updated + tup_deleted AS written FROM pg_stat_database WHERE datname LIKE $1",
        [`%${databaseSuffix}`],
      );
      return Object.fromEntries(rows.map((row) => [row.datname.replace(databaseSuffix, "").replace("tributary_", ""), { xact: Number(row.xact), written: Number(row.written) }]));
    };

    const kafka = new Kafka({ clientId: "e2e-bench", brokers: [...broker.brokers], logLevel: logLevel.ERROR });
    await ensureTopics(kafka, allTopics);

    const sandbox = await startSandbox({ port: 0, seed: 2026, buyer: { mode: "simulated", payProbability: 1, lateProbability: 0, latency: { kind: "fixed", ms: 0 } } });
    stops.push(() => sandbox.stop());
    const tracesDir = mkdtempSync(join(tmpdir(), "tributary-e2e-bench-traces-"));
    stops.push(async () => rmSync(tracesDir, { recursive: true, force: true }));
    const context: StackContext = {
      repoRoot,
      brokers: broker.brokers,
      postgresServerUrl: server.serverUrl,
      databaseSuffix,
      sandboxUrl: sandbox.url,
      logDir: join(repoRoot, ".tributary", "logs_bench_e2e"),
      tracesDir,
    };
    const extraNodeArgs = (process.env["BENCH_E2E_SERVICE_NODE_ARGS"] ?? "").split(" ").filter((arg) => arg !== "");
    const operatorToken = randomBytes(24).toString("base64url");
    const started = await Promise.allSettled([
      startOrderProcess(context, operatorToken, { extraNodeArgs }),
      startPaymentRoutingProcess(context, operatorToken, join(DEFAULT_KEYS_DIR, "keys.json"), { extraNodeArgs }),
      // The stack's second token is the reconciliation workers'; none run here.
      startSettlementProcess(context, operatorToken, { providers: PROVIDER_IDS, token: randomBytes(24).toString("base64url") }, undefined, { extraNodeArgs }),
    ]);
    for (const result of started) if (result.status === "fulfilled") stops.push(async () => void (await result.value.process.stop()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    const services = started.map((r) => (r as PromiseFulfilledResult<StackService>).value);
    for (const s of services) log(`e2e: ${s.name} pid ${s.process.pid}, log ${s.process.logFile}`);

    const runId = newEventId().slice(0, 8);
    const driver = await startDriver(kafka, orderDb, settlementDb, runId);
    stops.push(() => driver.stop());
    const raw = await startRaw(kafka);
    stops.push(() => raw.stop());

    // Warm-up (JIT everywhere, connections, caches, the policy cache).
    const warmRaw = await raw.round(ordersPerRound);
    const warmStarted = performance.now();
    const warmRates: number[] = [];
    do {
      const warm = await driver.sustained(warmupOrders, inFlight);
      warmRates.push(rate(warm.count, warm.ms));
    } while (performance.now() - warmStarted < warmupSeconds * 1_000);
    log(`e2e warm-up (${warmupSeconds} s, ${warmRates.length} rounds of ${warmupOrders}): raw ${rate(warmRaw.count, warmRaw.ms)} msg/s, subject ${warmRates.join(" → ")} payments/s`);
    driver.resetCounts();

    const idleBefore = cpuMs(services);
    const idleStarted = performance.now();
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1_000));
    const idleCpuMsPerSecond = Number((((cpuMs(services) - idleBefore) * 1_000) / (performance.now() - idleStarted)).toFixed(1));
    log(`e2e: the three services idle: ${idleCpuMsPerSecond} CPU ms per second`);

    // For bench/_e2e-profile.ts: the rounds' window on CLOCK_MONOTONIC, the clock of V8's profiles.
    const roundsFromUs = process.hrtime.bigint() / 1_000n;
    const loads: number[] = [];
    const rawRates: number[] = [];
    const subjectRates: number[] = [];
    const cpuPerPayment: number[] = [];
    const benchCpuPerPayment: number[] = [];
    const signatureRates: SignatureRates[] = [];
    const sustainedLatencies: number[] = [];
    /** Per service, CPU ms per payment of each sustained round. */
    const databasePerPayment: Record<string, { xact: number[]; written: number[] }> = {};
    const cpuByService: Record<string, number[]> = Object.fromEntries(services.map((service) => [service.name, []]));
    const roundP99: number[] = [];
    for (let round = 0; round < roundCount; round += 1) {
      loads.push(Number(loadavg()[0]!.toFixed(2)));
      signatureRates.push(measureSignatureRates());
      const r = await raw.round(ordersPerRound);
      const countersBefore = await databaseCounters();
      const queriesBefore = driver.queries();
      const perServiceBefore = services.map(serviceCpuMs);
      const benchBefore = process.cpuUsage();
      const s = await driver.sustained(ordersPerRound, inFlight);
      const benchUsage = process.cpuUsage(benchBefore);
      const perService = services.map((service, i) => (serviceCpuMs(service) - perServiceBefore[i]!) / s.count);
      services.forEach((service, i) => cpuByService[service.name]!.push(perService[i]!));
      cpuPerPayment.push(perService.reduce((sum, ms) => sum + ms, 0));
      // Postgres publishes a backend's counters within a second or so of its transactions.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const countersAfter = await databaseCounters();
      const queriesAfter = driver.queries();
      const ownQueries: Record<string, number> = {
        order: queriesAfter.order - queriesBefore.order,
        settlement: queriesAfter.settlement - queriesBefore.settlement,
      };
      for (const [name, after] of Object.entries(countersAfter)) {
        const before = countersBefore[name];
        if (before === undefined) continue;
        (databasePerPayment[name] ??= { xact: [], written: [] }).xact.push((after.xact - before.xact - (ownQueries[name] ?? 0)) / s.count);
        databasePerPayment[name].written.push((after.written - before.written) / s.count);
      }
      benchCpuPerPayment.push((benchUsage.user + benchUsage.system) / 1_000 / s.count);
      rawRates.push(rate(r.count, r.ms));
      subjectRates.push(rate(s.count, s.ms));
      sustainedLatencies.push(...s.latenciesMs);
      const l = latencySummary(s.latenciesMs);
      roundP99.push(l.p99Ms);
      const sig = signatureRates[round]!;
      log(
        `e2e round ${round + 1} (load ${loads[round]}): raw ${rawRates[round]} msg/s (${r.count} in ${(r.ms / 1_000).toFixed(2)} s), ` +
          `subject ${subjectRates[round]} payments/s (${s.count} in ${(s.ms / 1_000).toFixed(1)} s; p50 ${l.p50Ms}, p95 ${l.p95Ms}, p99 ${l.p99Ms} ms), ` +
          `services ${cpuPerPayment[round]!.toFixed(3)} CPU ms/payment (${services.map((service, i) => `${service.name} ${perService[i]!.toFixed(2)}`).join(", ")}), bench process ${benchCpuPerPayment[round]!.toFixed(3)}; ` +
          `RSA ${sig.rsaSignsPerSecond} signs/s, ${sig.rsaVerifiesPerSecond} verifies/s, HMAC ${sig.hmacsPerSecond}/s`,
      );
    }
    const sustainedRate = median(subjectRates);
    const halfRate = Math.max(0.5, sustainedRate / 2);
    log(`e2e half-rate phase: ${halfRateOrders} orders a round offered at ${halfRate.toFixed(1)}/s (half of ${sustainedRate}/s)${sustainedRate < 100 ? " — the sustained rate is tiny, so this is a slow trickle" : ""}`);
    const halfLatencies: number[] = [];
    const halfRates: number[] = [];
    const halfP99: number[] = [];
    const halfCpu: number[] = [];
    for (let round = 0; round < roundCount; round += 1) {
      const serviceBefore = cpuMs(services);
      const h = await driver.offered(halfRateOrders, halfRate);
      halfCpu.push((cpuMs(services) - serviceBefore) / h.count);
      halfLatencies.push(...h.latenciesMs);
      halfRates.push(rate(h.count, h.ms));
      const l = latencySummary(h.latenciesMs);
      halfP99.push(l.p99Ms);
      log(
        `e2e half-rate round ${round + 1} (load ${loadavg()[0]!.toFixed(2)}): ${halfRates[round]} payments/s achieved (${h.count} in ${(h.ms / 1_000).toFixed(1)} s), ` +
          `p50 ${l.p50Ms}, p95 ${l.p95Ms}, p99 ${l.p99Ms}, max ${l.maxMs} ms; services ${halfCpu[round]!.toFixed(3)} CPU ms/payment`,
      );
    }

    log(`e2e: rounds ran from ${roundsFromUs} to ${process.hrtime.bigint() / 1_000n} µs of CLOCK_MONOTONIC (for bench/_e2e-profile.ts)`);

    // Every order published has one order, one captured payment and one posted capture entry.
    const published = driver.published();
    const counts = {
      orders: Number((await orderDb.query<{ n: string }>("SELECT count(*) AS n FROM orders WHERE merchant_id = $1 AND merchant_order_ref LIKE $2", [merchantId, `e2e-${runId}-%`])).rows[0]!.n),
      payments: Number((await routingDb.query<{ n: string }>("SELECT count(*) AS n FROM payments")).rows[0]!.n),
      capturedPayments: Number((await routingDb.query<{ n: string }>("SELECT count(DISTINCT order_id) AS n FROM payments WHERE status = 'captured'")).rows[0]!.n),
      ...(
        await settlementDb.query<{ entries: string; orders: string; payments: string }>(
          "SELECT count(*) AS entries, count(DISTINCT order_id) AS orders, count(DISTINCT payment_id) AS payments FROM journal_entry WHERE entry_type = 'payment_captured' AND phase = 'posted'",
        )
      ).rows.map((row) => ({ captureEntries: Number(row.entries), entryOrders: Number(row.orders), entryPayments: Number(row.payments) }))[0]!,
    };
    const allOnce = Object.values(counts).every((n) => n === published);
    log(`e2e check: ${published} orders published; ${JSON.stringify(counts)} — ${allOnce ? "each posted exactly once" : "MISMATCH"}`);
    if (!allOnce) throw new Error(`e2e: counts do not all equal the ${published} orders published: ${JSON.stringify(counts)}`);

    const captured = driver.capturedByProvider();
    const medianRates: SignatureRates = {
      rsaSignsPerSecond: median(signatureRates.map((s) => s.rsaSignsPerSecond)),
      rsaVerifiesPerSecond: median(signatureRates.map((s) => s.rsaVerifiesPerSecond)),
      hmacsPerSecond: median(signatureRates.map((s) => s.hmacsPerSecond)),
    };
    const bound = signatureBound(captured, medianRates);
    const sustained = latencySummary(sustainedLatencies);
    const half = latencySummary(halfLatencies);
    const paymentsPerSecond: Spread = spreadOf(subjectRates);
    const cpu = spreadOf(cpuPerPayment, 3);
    const ratio = spreadOf(pairedRatios(subjectRates, rawRates), 5);
    log(describeSpread("e2e raw kafkajs produce → consume", spreadOf(rawRates), "msg/s"));
    log(describeSpread("e2e subject: OrderPlaced → accepted → routed → paid → captured → posted", paymentsPerSecond, "payments/s"));
    log(describeSpread("e2e ratio", ratio, "×"));
    log(describeSpread("e2e services' CPU per payment (order + payment-routing + settlement)", cpu, "ms"));
    log(
      `e2e database per payment (pg_stat_database, the services' polls included, the bench's own queries taken out): ` +
        Object.entries(databasePerPayment)
          .map(([name, d]) => `${name} ${spreadOf(d.xact, 1).median} transactions, ${spreadOf(d.written, 1).median} rows written`)
          .join("; "),
    );
    for (const [name, values] of Object.entries(cpuByService)) log(describeSpread(`e2e ${name} CPU per payment`, spreadOf(values, 3), "ms"));
    log(describeSpread("e2e sustained p99 per round", spreadOf(roundP99, 1), "ms"));
    log(describeSpread("e2e half-rate p99 per round", spreadOf(halfP99, 1), "ms"));
    log(
      `e2e captured by rail: ${Object.entries(captured).map(([p, n]) => `${p} ${n}`).join(", ")}; signatures per payment ${bound.msPerPayment} ms ` +
        `(RSA ${bound.rsaMsPerPayment}, HMAC ${bound.hmacMsPerPayment}) → bound ${bound.boundPaymentsPerSecond} payments/s on ${bound.cores} cores`,
    );
    const verdict = (met: boolean) => (met ? "met" : "NOT met");
    log(
      `e2e goals: ≥ ${goals.paymentsPerSecond} payments/s ${verdict(paymentsPerSecond.median >= goals.paymentsPerSecond)} (${paymentsPerSecond.median}); ` +
        `p99 < ${goals.p99MsAtHalfRate} ms at half rate ${verdict(half.p99Ms < goals.p99MsAtHalfRate)} (${half.p99Ms} at ${halfRate.toFixed(1)}/s); ` +
        `CPU ≤ ${goals.cpuMsPerPayment} ms/payment ${verdict(cpu.median <= goals.cpuMsPerPayment)} (${cpu.median})`,
    );
    console.log(
      JSON.stringify({
        bench: "e2e",
        subject: {
          name: "OrderPlaced on orders.inbound.v1 → settlement's posted capture entry, through order, payment-routing and settlement (own processes) and the sandbox",
          ordersPerRound,
          inFlight,
          rounds: roundCount,
          paymentsPerSecond: paymentsPerSecond.median,
          roundPaymentsPerSecond: paymentsPerSecond.rounds,
          p50Ms: sustained.p50Ms,
          p95Ms: sustained.p95Ms,
          p99Ms: sustained.p99Ms,
          maxMs: sustained.maxMs,
          latencyOf: "all sustained rounds' payments (closed loop, saturated): publish → journal_entry.recorded_at",
          halfRate: {
            offeredPerSecond: Number(halfRate.toFixed(1)),
            ordersPerRound: halfRateOrders,
            roundPaymentsPerSecond: halfRates,
            ...half,
            roundP99Ms: halfP99,
            cpuMsPerPayment: spreadOf(halfCpu, 3).median,
          },
          cpuMsPerPayment: cpu.median,
          roundCpuMsPerPayment: cpu.rounds,
          cpuMsPerPaymentByService: Object.fromEntries(Object.entries(cpuByService).map(([name, values]) => [name, spreadOf(values, 3).median])),
          idleCpuMsPerSecond,
          databasePerPayment: Object.fromEntries(
            Object.entries(databasePerPayment).map(([name, d]) => [name, { transactions: spreadOf(d.xact, 1).median, rowsWritten: spreadOf(d.written, 1).median }]),
          ),
          benchProcessCpuMsPerPayment: spreadOf(benchCpuPerPayment, 3).median,
          capturedByProvider: captured,
        },
        baseline: {
          name: "raw kafkajs: the same number of OrderPlaced-sized messages produced (batches of 500, acks -1) and consumed (eachMessage), same broker",
          messagesPerRound: ordersPerRound,
          messagesPerSecond: median(rawRates),
          roundMessagesPerSecond: rawRates,
        },
        ratio: ratio.median,
        ratioOf: "payments/s ÷ raw messages/s, median of the per-round ratios",
        goal: goals.paymentsPerSecond,
        goalOf: "subject.paymentsPerSecond",
        goals: {
          paymentsPerSecond: { goal: goals.paymentsPerSecond, met: paymentsPerSecond.median >= goals.paymentsPerSecond },
          p99MsAtHalfRate: { goal: goals.p99MsAtHalfRate, met: half.p99Ms < goals.p99MsAtHalfRate, value: half.p99Ms },
          cpuMsPerPayment: { goal: goals.cpuMsPerPayment, met: cpu.median <= goals.cpuMsPerPayment },
        },
        signatureBound: { ...bound, rsaSignsPerSecondPerCore: medianRates.rsaSignsPerSecond, rsaVerifiesPerSecondPerCore: medianRates.rsaVerifiesPerSecond, hmacsPerSecondPerCore: medianRates.hmacsPerSecond },
        check: { published, ...counts },
        loadAverages: loads,
        spread: { baseline: spreadOf(rawRates), subject: paymentsPerSecond, ratio, cpuMsPerPayment: cpu, halfRateP99Ms: spreadOf(halfP99, 1) },
        agreed: spreadOf(rawRates).agreed && paymentsPerSecond.agreed && ratio.agreed,
      }),
    );
  } finally {
    await stopAll();
  }
}

await main();
