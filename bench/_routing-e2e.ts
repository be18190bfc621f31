/**
 * The end-to-end half of `npm run bench -- routing` (see bench/routing.ts's header for what is
 * measured and how the RSA bound is computed): payment-routing as its own process, the provider
 * sandbox in this one, a fresh broker and a scratch database, and the two sides in alternating
 * rounds.
 */
import { createSign, createVerify, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { startPaymentRoutingProcess, type StackService } from "@tributary/cli";
import { ordersTopic, paymentsTopic, PROVIDER_IDS, providerIdFromProto, providerIdToProto, type ProviderId } from "@tributary/contracts";
import { Channel as ProtoChannel } from "@tributary/contracts/common/v1/provider";
import { OrderStatus } from "@tributary/contracts/order/v1/order";
import { OrderAcceptedSchema } from "@tributary/contracts/order/v1/order_events";
import { PaymentCapturedSchema, PaymentFailedSchema } from "@tributary/contracts/payment/v1/payment_events";
import { envelopeHeaders, newEventId, protobufContentType } from "@tributary/events";
import { databaseUrl, dropDatabase, ensureDatabase, findServiceDatabases, migrateServiceDatabase } from "@tributary/local-postgres";
import { money } from "@tributary/money";
import { DEFAULT_KEYS_DIR, startSandbox } from "@tributary/provider-sandbox";
import { kafka as testKafka, postgres as testPostgres } from "@tributary/testkit";
import { Kafka, logLevel, type Consumer, type Producer } from "kafkajs";
import pg from "pg";
// Not on payment-routing's public surface: the very functions its main.ts builds its adapters with,
// so the baseline's adapters are the service's own, configured the same way.
import { createProviderAdapters, sandboxProviderSettings } from "../services/payment-routing/src/provider-adapters.js";
import { describeSpread, log, median, pairedRatios, roundCount, roundSeconds, spreadOf, type Spread } from "./_rounds.js";

process.env["KAFKAJS_NO_PARTITIONER_WARNING"] = "1";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** Payments (or baseline requests) in flight at once, on both sides. */
export const concurrency = Number.parseInt(process.env["BENCH_ROUTING_CONCURRENCY"] ?? "32", 10);
/**
 * Seconds of warm-up per side (JIT, connections, caches): payment-routing's CPU per payment kept
 * falling through 3,000 payments after a 800-payment warm-up. 2026-12-03 11:30, one run each: after
 * 20 s (1,312 payments) the rounds still rose, 78 → 123 payments/s, 7.4 → 4.4 CPU ms a payment;
 * after 60 s (6,291 payments) they held at 105–124 and 4.1–5.1 ms with no trend.
 */
const warmupSeconds = Number.parseFloat(process.env["BENCH_ROUTING_WARMUP_SECONDS"] ?? "60");
/** Most payments (or requests) one round may take, whatever the rate (bounds memory and disk). */
const maxRoundPayments = Number.parseInt(process.env["BENCH_ROUTING_MAX_ROUND_PAYMENTS"] ?? "20000", 10);
/** A round that captures nothing for this long has stalled: the bench stops and says so. */
const stallMs = 60_000;
/** How long the service's idle CPU is measured, between the warm-up and the rounds. */
const idleSeconds = 3;

/** The merchant of the example policy with all five rails enabled. */
const merchantId = "m-taobao-1";
/**
 * The provider mix: the buyer's preferred rail, round-robin over all five. A preferred, eligible
 * rail always leads (no exploration overrides it), so each order takes its preferred rail. e-CNY is
 * on a trial roll-out at its allowlist step, so its orders come from the allowlisted buyer.
 */
export const providerMix: readonly ProviderId[] = PROVIDER_IDS;
const ecnyTrialBuyer = "b-staff-1";

/**
 * RSA operations per payment on each side, by rail, for a web (QR) payment captured by its first
 * notification (no query: the first query is due 30 s after creation). Counted in the code:
 * - create: we sign the request, the sandbox verifies it, signs its answer, we verify the answer;
 * - notification: the sandbox signs it, our webhook verifies it.
 * JD Pay and e-CNY sign with HMAC-SHA256: no RSA. The baseline request is the create alone.
 */
export const rsaOperations: Readonly<Record<ProviderId, { readonly sandbox: RsaOps; readonly ours: RsaOps }>> = {
  alipay: { sandbox: { signs: 2, verifies: 1 }, ours: { signs: 1, verifies: 2 } },
  wechat_pay: { sandbox: { signs: 2, verifies: 1 }, ours: { signs: 1, verifies: 2 } },
  unionpay: { sandbox: { signs: 2, verifies: 1 }, ours: { signs: 1, verifies: 2 } },
  jd_pay: { sandbox: { signs: 0, verifies: 0 }, ours: { signs: 0, verifies: 0 } },
  ecny: { sandbox: { signs: 0, verifies: 0 }, ours: { signs: 0, verifies: 0 } },
};
/** RSA operations of one baseline request (create only), both sides together, on an RSA rail. */
const baselineRsaOperations: RsaOps = { signs: 2, verifies: 2 };

export interface RsaOps {
  readonly signs: number;
  readonly verifies: number;
}

export interface EndToEndReport {
  readonly concurrency: number;
  readonly providerMix: readonly ProviderId[];
  /** Payments captured per rail over all subject rounds (what routing chose). */
  readonly capturedByProvider: Readonly<Record<string, number>>;
  readonly subject: {
    readonly paymentsPerRound: readonly number[];
    readonly paymentsPerSecond: Spread;
    readonly cpuMsPerPayment: Spread;
    /** CPU of this process (sandbox, producer, consumer) per payment, for context. */
    readonly benchCpuMsPerPayment: Spread;
    /** payment-routing's CPU per second with no payments in flight (polls, heartbeats). */
    readonly idleCpuMsPerSecond: number;
    /** Commits and rollbacks in the service's database per payment (polls included), from pg_stat_database. */
    readonly databaseTransactionsPerPayment: Spread;
    readonly databaseRowsWrittenPerPayment: Spread;
    readonly failed: number;
  };
  readonly baseline: {
    readonly requestsPerRound: readonly number[];
    readonly signedRequestsPerSecond: Spread;
    readonly benchCpuMsPerRequest: Spread;
  };
  readonly ratio: Spread;
  readonly rsa: {
    readonly signsPerSecond: Spread;
    readonly verifiesPerSecond: Spread;
    readonly cores: number;
    /** RSA CPU milliseconds per payment, both sides, for the mix captured. */
    readonly msPerPayment: number;
    readonly msPerPaymentSandbox: number;
    readonly msPerPaymentOurs: number;
    readonly boundPaymentsPerSecond: number;
    /** The same bound for one baseline request (create only) of the mix. */
    readonly boundBaselineRequestsPerSecond: number;
  };
  readonly loadAverages: readonly number[];
  readonly serviceLog: string;
}

/** Runs the warm-up and the alternating rounds; starts and stops everything it needs. */
export async function measureEndToEnd(): Promise<EndToEndReport> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => log(`stop failed: ${String(error)}`));
  };
  try {
    log(`e2e: load ${loadText()}; starting a broker, a scratch database, two sandboxes and payment-routing (own process)`);
    const broker = await testKafka();
    stops.push(() => broker.stop());
    const server = await testPostgres();
    stops.push(() => server.stop());
    // `_bench_test_<pid>`: the testkit reaps it if this process dies first, and two benches at once
    // never share one. startPaymentRoutingProcess appends the suffix to tributary_payment_routing.
    const databaseSuffix = `_bench_test_${process.pid}`;
    const database = `tributary_payment_routing${databaseSuffix}`;
    await dropDatabase(server.serverUrl, database);
    await ensureDatabase(server.serverUrl, database);
    stops.push(() => dropDatabase(server.serverUrl, database));
    const service = (await findServiceDatabases(repoRoot)).find((s) => s.packageName === "@tributary/payment-routing");
    if (service === undefined) throw new Error("@tributary/payment-routing declares no database");
    await migrateServiceDatabase(databaseUrl(server.serverUrl, database), service);

    // The subject's buyers pay at once; the baseline's never do (its rate is the signed create alone).
    const subjectSandbox = await startSandbox({ port: 0, seed: 2026, buyer: { mode: "simulated", payProbability: 1, lateProbability: 0, latency: { kind: "fixed", ms: 0 } } });
    stops.push(() => subjectSandbox.stop());
    const baselineSandbox = await startSandbox({ port: 0, seed: 2027, buyer: { mode: "manual" } });
    stops.push(() => baselineSandbox.stop());
    const keysFile = join(DEFAULT_KEYS_DIR, "keys.json");

    const tracesDir = mkdtempSync(join(tmpdir(), "tributary-routing-bench-traces-"));
    stops.push(async () => rmSync(tracesDir, { recursive: true, force: true }));
    const routing = await startService(
      {
        repoRoot,
        brokers: broker.brokers,
        postgresServerUrl: server.serverUrl,
        databaseSuffix,
        sandboxUrl: subjectSandbox.url,
        logDir: join(repoRoot, ".tributary", "logs_bench"),
        tracesDir,
      },
      keysFile,
    );
    stops.push(async () => void (await routing.process.stop()));
    log(`e2e: payment-routing pid ${routing.process.pid}, log ${routing.process.logFile}`);

    // The database's own counters, for how much database work one payment costs.
    const stats = new pg.Pool({ connectionString: server.serverUrl, max: 1 });
    stops.push(() => stats.end());
    const databaseCounters = async () => {
      const { rows } = await stats.query<{ xact: string; written: string }>(
        "SELECT xact_commit + xact_rollback AS xact, tup_inserted + tup_updated + tup_deleted AS written FROM pg_stat_database WHERE datname = $1",
        [database],
      );
      return { xact: Number(rows[0]?.xact ?? Number.NaN), written: Number(rows[0]?.written ?? Number.NaN) };
    };

    const kafka = new Kafka({ clientId: "routing-bench", brokers: [...broker.brokers], logLevel: logLevel.ERROR });
    const driver = await startDriver(kafka);
    stops.push(() => driver.stop());

    const adapters = new Map(
      createProviderAdapters(sandboxProviderSettings(baselineSandbox.url, readFileSync(keysFile, "utf8")), { timeoutMs: 10_000 }).map((a) => [a.provider, a]),
    );
    // Rounds are timed, not sized: each side keeps `concurrency` in flight and starts no new one
    // after `roundSeconds` (or `maxRoundPayments`), so every round lasts at least that long.
    const baseline = (seconds: number) => runBaseline(adapters, seconds * 1_000, maxRoundPayments);
    const subject = (seconds: number) => driver.run(seconds * 1_000, maxRoundPayments);

    // Warm-up (JIT on both sides, connections, the policy cache).
    const warmBaseline = await baseline(warmupSeconds);
    const warmSubject = await subject(warmupSeconds);
    log(
      `e2e warm-up (${warmupSeconds} s a side): baseline ${warmBaseline.count} signed creates, subject ${warmSubject.count} payments, ${concurrency} in flight; ` +
        `rounds of ≥ ${roundSeconds} s, at most ${maxRoundPayments}`,
    );
    driver.resetCounts();
    // What the service burns with nothing to do (relay and worker polls, consumer fetches, the
    // guardrail), for reading cpuMsPerPayment; not subtracted from it.
    const idleBefore = serviceCpuMs(routing);
    const idleStarted = performance.now();
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1_000));
    const idleCpuMsPerSecond = Number((((serviceCpuMs(routing) - idleBefore) * 1_000) / (performance.now() - idleStarted)).toFixed(1));
    log(`e2e: payment-routing idle: ${idleCpuMsPerSecond} CPU ms per second`);

    const baselineRates: number[] = [];
    const subjectRates: number[] = [];
    const cpuPerPayment: number[] = [];
    const benchCpuPerPayment: number[] = [];
    const benchCpuPerRequest: number[] = [];
    const signRates: number[] = [];
    const verifyRates: number[] = [];
    const loads: number[] = [];
    const transactionsPerPayment: number[] = [];
    const baselineCounts: number[] = [];
    const subjectCounts: number[] = [];
    const rowsWrittenPerPayment: number[] = [];
    for (let round = 0; round < roundCount; round += 1) {
      loads.push(Number(loadavg()[0]!.toFixed(2)));
      const rsa = measureRsa();
      signRates.push(rsa.signsPerSecond);
      verifyRates.push(rsa.verifiesPerSecond);
      const benchBefore = process.cpuUsage();
      const b = await baseline(roundSeconds);
      benchCpuPerRequest.push(cpuMs(process.cpuUsage(benchBefore)) / b.count);
      const countersBefore = await databaseCounters();
      const serviceBefore = serviceCpuMs(routing);
      const subjectBenchBefore = process.cpuUsage();
      const s = await subject(roundSeconds);
      benchCpuPerPayment.push(cpuMs(process.cpuUsage(subjectBenchBefore)) / s.count);
      cpuPerPayment.push((serviceCpuMs(routing) - serviceBefore) / s.count);
      // Postgres publishes a backend's counters within a second or so of its transactions.
      const countersAfter = await databaseCounters();
      transactionsPerPayment.push((countersAfter.xact - countersBefore.xact) / s.count);
      rowsWrittenPerPayment.push((countersAfter.written - countersBefore.written) / s.count);
      baselineRates.push(rate(b.count, b.ms));
      subjectRates.push(rate(s.count, s.ms));
      baselineCounts.push(b.count);
      subjectCounts.push(s.count);
      log(
        `e2e round ${round + 1} (load ${loads[round]}): baseline ${baselineRates[round]} signed creates/s (${b.count} in ${(b.ms / 1_000).toFixed(1)} s), ` +
          `subject ${subjectRates[round]} payments/s (${s.count} in ${(s.ms / 1_000).toFixed(1)} s), service ${cpuPerPayment[round]!.toFixed(3)} CPU ms/payment, ` +
          `bench process ${benchCpuPerPayment[round]!.toFixed(3)} ms/payment and ${benchCpuPerRequest[round]!.toFixed(3)} ms/request; ` +
          `RSA ${rsa.signsPerSecond} signs/s, ${rsa.verifiesPerSecond} verifies/s`,
      );
    }
    const captured = driver.capturedByProvider();
    const rsa = rsaBound(captured, median(signRates), median(verifyRates));
    const report: EndToEndReport = {
      concurrency,
      providerMix,
      capturedByProvider: captured,
      subject: {
        paymentsPerRound: subjectCounts,
        paymentsPerSecond: spreadOf(subjectRates),
        cpuMsPerPayment: spreadOf(cpuPerPayment, 3),
        benchCpuMsPerPayment: spreadOf(benchCpuPerPayment, 3),
        idleCpuMsPerSecond,
        databaseTransactionsPerPayment: spreadOf(transactionsPerPayment, 1),
        databaseRowsWrittenPerPayment: spreadOf(rowsWrittenPerPayment, 1),
        failed: driver.failed(),
      },
      baseline: { requestsPerRound: baselineCounts, signedRequestsPerSecond: spreadOf(baselineRates), benchCpuMsPerRequest: spreadOf(benchCpuPerRequest, 3) },
      ratio: spreadOf(pairedRatios(subjectRates, baselineRates), 4),
      rsa: { signsPerSecond: spreadOf(signRates), verifiesPerSecond: spreadOf(verifyRates), ...rsa },
      loadAverages: loads,
      serviceLog: routing.process.logFile,
    };
    log(describeSpread("e2e baseline: the adapters' signed createPayment straight to the sandbox", report.baseline.signedRequestsPerSecond, "requests/s"));
    log(describeSpread("e2e subject: OrderAccepted → routed → created → paid → notified → PaymentCaptured", report.subject.paymentsPerSecond, "payments/s"));
    log(describeSpread("e2e ratio", report.ratio, "×"));
    log(describeSpread("e2e payment-routing CPU per payment", report.subject.cpuMsPerPayment, "ms"));
    log(
      `e2e database per payment: ${report.subject.databaseTransactionsPerPayment.median} transactions, ` +
        `${report.subject.databaseRowsWrittenPerPayment.median} rows written (pg_stat_database; polls included)`,
    );
    log(
      `e2e captured by rail: ${Object.entries(captured).map(([p, n]) => `${p} ${n}`).join(", ")}; RSA per payment ${rsa.msPerPayment.toFixed(3)} ms ` +
        `(sandbox ${rsa.msPerPaymentSandbox.toFixed(3)}, ours ${rsa.msPerPaymentOurs.toFixed(3)}) → RSA bound ${rsa.boundPaymentsPerSecond} payments/s on ${rsa.cores} cores ` +
        `(baseline requests: ${rsa.boundBaselineRequestsPerSecond}/s)`,
    );
    return report;
  } finally {
    await stopAll();
  }
}

/**
 * payment-routing as the stack starts it (its own process, its main.ts settings), on this run's
 * broker, database and sandbox. BENCH_ROUTING_SERVICE_NODE_ARGS (space-separated, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`) go to that process alone, for a profile of the service.
 */
async function startService(context: Parameters<typeof startPaymentRoutingProcess>[0], keysFile: string): Promise<StackService> {
  const extraNodeArgs = (process.env["BENCH_ROUTING_SERVICE_NODE_ARGS"] ?? "").split(" ").filter((arg) => arg !== "");
  return startPaymentRoutingProcess(context, randomBytes(24).toString("base64url"), keysFile, { extraNodeArgs });
}

function serviceCpuMs(service: StackService): number {
  const cpu = service.process.cpuTime();
  if (cpu === undefined) throw new Error(`payment-routing (pid ${service.process.pid}) has exited; see ${service.process.logFile}`);
  return cpu.userMs + cpu.systemMs;
}

/** The subject's driver: OrderAccepted in on orders.v1, PaymentCaptured out on payments.v1, `concurrency` in flight. */
async function startDriver(kafka: Kafka) {
  const producer: Producer = kafka.producer();
  await producer.connect();
  const consumer: Consumer = kafka.consumer({ groupId: `routing-bench-${newEventId()}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic: paymentsTopic.name, fromBeginning: true });
  const pending = new Map<string, () => void>();
  const captured: Record<string, number> = {};
  let failedCount = 0;
  let lastProgressAt = Date.now();
  await consumer.run({
    eachMessage: async ({ message }) => {
      const type = message.headers?.["event-type"]?.toString();
      const orderId = message.key?.toString("utf8") ?? "";
      if (type === PaymentCapturedSchema.typeName) {
        const done = pending.get(orderId);
        if (done === undefined) return; // a redelivery, or not ours
        const provider = providerIdFromProto(fromBinary(PaymentCapturedSchema, message.value ?? Buffer.alloc(0)).provider) ?? "unknown";
        captured[provider] = (captured[provider] ?? 0) + 1;
        pending.delete(orderId);
        lastProgressAt = Date.now();
        done();
      } else if (type === PaymentFailedSchema.typeName && pending.has(orderId)) {
        // A failed payment counts as no payment; the bench reports it and the round stalls on it.
        failedCount += 1;
        const failed = fromBinary(PaymentFailedSchema, message.value ?? Buffer.alloc(0));
        log(`e2e: payment of order ${orderId} FAILED: ${failed.reasonCode} ${failed.providerMessage}`);
      }
    },
  });

  let sequence = 0;
  const accept = async (): Promise<void> => {
    sequence += 1;
    const orderId = newEventId();
    const provider = providerMix[sequence % providerMix.length]!;
    const amountMinor = BigInt(100 + ((sequence * 7_919) % 999_900));
    const captured = new Promise<void>((resolve) => pending.set(orderId, resolve));
    const order = create(OrderAcceptedSchema, {
      order: {
        orderId,
        merchantId,
        merchantOrderRef: `bench-${orderId}`,
        buyer: { buyerId: provider === "ecny" ? ecnyTrialBuyer : `buyer-${sequence}`, country: "CN" },
        lines: [{ sku: "SKU-1", category: "apparel", quantity: 1n, unitPrice: { currency: "CNY", amountMinor } }],
        total: { currency: "CNY", amountMinor },
        channel: ProtoChannel.WEB,
        preferredProvider: providerIdToProto(provider),
        status: OrderStatus.ACCEPTED,
      },
    });
    await producer.send({
      topic: ordersTopic.name,
      messages: [
        {
          key: orderId,
          value: Buffer.from(toBinary(OrderAcceptedSchema, order)),
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
    await captured;
  };

  return {
    /** Pushes payments through, `concurrency` at a time, for `ms` (or `maxCount`); resolves when every one started is captured. */
    async run(ms: number, maxCount: number): Promise<{ count: number; ms: number }> {
      lastProgressAt = Date.now();
      let watchdog: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        watchdog = setInterval(() => {
          if (Date.now() - lastProgressAt > stallMs) {
            reject(new Error(`e2e: no PaymentCaptured for ${stallMs / 1_000} s with ${pending.size} payments in flight (${failedCount} failed): stalled`));
          }
        }, 1_000);
      });
      const started = performance.now();
      let count = 0;
      try {
        count = await Promise.race([inFlight(ms, maxCount, accept), stalled]);
      } finally {
        clearInterval(watchdog);
      }
      return { count, ms: performance.now() - started };
    },
    capturedByProvider: () => ({ ...captured }),
    resetCounts: () => {
      for (const key of Object.keys(captured)) delete captured[key];
    },
    failed: () => failedCount,
    async stop() {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}

/** The baseline: the service's adapters' `createPayment` straight to the sandbox, the same mix and concurrency. */
async function runBaseline(
  adapters: ReadonlyMap<ProviderId, ReturnType<typeof createProviderAdapters>[number]>,
  ms: number,
  maxCount: number,
): Promise<{ count: number; ms: number }> {
  let sequence = 0;
  const started = performance.now();
  const count = await inFlight(ms, maxCount, async () => {
    sequence += 1;
    const provider = providerMix[sequence % providerMix.length]!;
    const paymentId = newEventId().replaceAll("-", "");
    const result = await adapters.get(provider)!.createPayment({
      paymentId,
      orderId: paymentId,
      merchantId,
      amount: money(BigInt(100 + ((sequence * 7_919) % 999_900)), "CNY"),
      channel: "web",
      description: `Tributary order ${paymentId}`,
      notifyUrl: "http://127.0.0.1:9/webhooks/none", // the baseline's buyers never pay: nothing is sent
      expiresAt: new Date(Date.now() + 30 * 60_000),
    });
    if (!result.ok) throw new Error(`baseline createPayment at ${provider} failed: ${result.error.code} ${result.error.message}`);
  });
  return { count, ms: performance.now() - started };
}

/**
 * Runs `work` over and over, {@link concurrency} at once, starting none after `ms` or once
 * `maxCount` have started; resolves with how many ran, when the last has finished.
 */
async function inFlight(ms: number, maxCount: number, work: () => Promise<void>): Promise<number> {
  let issued = 0;
  const until = performance.now() + ms;
  const lane = async (): Promise<void> => {
    while (issued < maxCount && performance.now() < until) {
      issued += 1;
      await work();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, maxCount) }, lane));
  return issued;
}

const rsaKeys = generateKeyPairSync("rsa", { modulusLength: 2048 });
/** About the size of a WeChat create's signing string. */
const rsaMessage = `POST\n/v3/pay/transactions/native\n1764590000\n${"n".repeat(32)}\n${"{".padEnd(320, "x")}}\n`;
const rsaSignature = createSign("RSA-SHA256").update(rsaMessage).sign(rsaKeys.privateKey);

/** Bare RSA-2048 SHA256withRSA sign and verify rates on this one thread (one core), parsed keys. */
function measureRsa(): { signsPerSecond: number; verifiesPerSecond: number } {
  const timed = (ms: number, op: () => void): number => {
    let count = 0;
    const started = performance.now();
    while (performance.now() - started < ms) {
      for (let i = 0; i < 20; i += 1) op();
      count += 20;
    }
    return rate(count, performance.now() - started);
  };
  const signsPerSecond = timed(1_000, () => void createSign("RSA-SHA256").update(rsaMessage).sign(rsaKeys.privateKey));
  const verifiesPerSecond = timed(500, () => {
    if (!createVerify("RSA-SHA256").update(rsaMessage).verify(rsaKeys.publicKey, rsaSignature)) throw new Error("RSA verify failed");
  });
  return { signsPerSecond, verifiesPerSecond };
}

/** The RSA bound: cores ÷ RSA CPU seconds per payment, both sides, for the mix captured. */
function rsaBound(captured: Readonly<Record<string, number>>, signsPerSecond: number, verifiesPerSecond: number) {
  const total = Object.values(captured).reduce((sum, n) => sum + n, 0);
  const msOf = (ops: RsaOps) => (ops.signs * 1_000) / signsPerSecond + (ops.verifies * 1_000) / verifiesPerSecond;
  let sandbox = 0;
  let ours = 0;
  let baselineMs = 0;
  for (const provider of PROVIDER_IDS) {
    const share = total === 0 ? 0 : (captured[provider] ?? 0) / total;
    sandbox += share * msOf(rsaOperations[provider].sandbox);
    ours += share * msOf(rsaOperations[provider].ours);
  }
  for (const provider of providerMix) {
    if (rsaOperations[provider].ours.signs > 0) baselineMs += msOf(baselineRsaOperations) / providerMix.length;
  }
  const cores = availableParallelism();
  const bound = (ms: number) => (ms === 0 ? Number.POSITIVE_INFINITY : Math.round((cores * 1_000) / ms));
  return {
    cores,
    msPerPayment: Number((sandbox + ours).toFixed(4)),
    msPerPaymentSandbox: Number(sandbox.toFixed(4)),
    msPerPaymentOurs: Number(ours.toFixed(4)),
    boundPaymentsPerSecond: bound(sandbox + ours),
    boundBaselineRequestsPerSecond: bound(baselineMs),
  };
}

function rate(count: number, ms: number): number {
  return Math.round((count * 1_000) / ms);
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1_000;
}

function loadText(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(", ");
}
