/**
 * `tributary stack up` (and `npm start`): the main job, end to end on one machine:
 * 1. a real Kafka broker (or KAFKA_BROKERS) and every topic of DESIGN.md with its DLQ;
 * 2. every service database created and migrated on POSTGRES_URL (default 127.0.0.1:5432);
 * 3. the provider sandbox in this process, and every service as its own process
 *    (`.tributary/logs/<service>.log`), each tied to this one;
 * 4. a smoke payment flow through every process: an upstream system publishes `OrderPlaced` on
 *    `orders.inbound.v1` and calls `CreateOrder` over gRPC; both are accepted, routed, paid at the
 *    sandbox, notified, captured and marked paid; a bad order comes back `OrderRejected`.
 * Then a summary, and `.tributary/stack.json` for `stack status` and `stack down`. It stays up
 * until a stop is requested; with `exit` it stops after the summary.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { allTopics, PROVIDER_IDS, sandboxProviderName } from "@tributary/contracts";
import { ensureTopics } from "@tributary/events";
import { startKafka } from "@tributary/local-kafka";
import { migrateAll, postgresServerUrl } from "@tributary/local-postgres";
import { DEFAULT_KEYS_DIR, startSandbox, type RunningSandbox, type SandboxOptions } from "@tributary/provider-sandbox";
import { localTracesDir } from "@tributary/telemetry/local-traces";
import { assertKafkaReachable, assertPostgresReachable } from "@tributary/service-kit";
import { freeLocalPort } from "@tributary/service-process";
import { runSmokeFlow } from "./smoke-flow.js";
import {
  reconciliationBillDir,
  reconciliationConfigDir,
  startOrderProcess,
  startPaymentRoutingProcess,
  startReconciliationProcess,
  startSettlementProcess,
  type StackContext,
  type StackService,
} from "./stack-services.js";
import type { ShutdownList } from "./shutdown-list.js";
import { removeStackState, stackStatePath, writeStackState } from "./stack-state.js";

export interface StackUpOptions {
  readonly repoRoot: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Stop after the summary instead of waiting for {@link StackUpOptions.stopRequested}. */
  readonly exit: boolean;
  /** Resolves (with the signal's name) when the stack must stop, once it is up. */
  readonly stopRequested: Promise<string>;
  /**
   * Where each started part registers how to stop it, the moment it has started; the caller
   * stops them all (in reverse) when a signal arrives during start-up, and `stackUp` does on
   * its way out.
   */
  readonly stops: ShutdownList;
  readonly print: (line: string) => void;
  /** Called once everything is up: from then on a signal ends the wait instead of aborting start-up. */
  readonly onUp?: () => void;
  /** How the sandbox behaves (the day run's buyers, faults and bill timing); the defaults unless told. */
  readonly sandbox?: Omit<SandboxOptions, "port">;
  /** Settings for the payment-routing process that replace its defaults (the day run's short timeouts). */
  readonly paymentRoutingEnv?: Readonly<Record<string, string>>;
  /**
   * Runs once the stack is up and its summary printed, before the wait (or the exit): the day
   * run's business day. Whatever it throws fails `stackUp` after everything is stopped.
   */
  readonly whenUp?: (stack: RunningStack) => Promise<void>;
}

/** What {@link StackUpOptions.whenUp} gets: the running stack's parts. */
export interface RunningStack {
  readonly kafka: Kafka;
  readonly brokers: readonly string[];
  readonly serverUrl: string;
  readonly databaseSuffix: string;
  readonly sandbox: RunningSandbox;
  readonly operatorToken: string;
  readonly services: readonly StackService[];
}

export async function stackUp(options: StackUpOptions): Promise<void> {
  const { env, print, repoRoot, stops } = options;
  const started = Date.now();
  const databaseSuffix = env["TRIBUTARY_DATABASE_SUFFIX"] ?? "";
  const statePath = stackStatePath(repoRoot, databaseSuffix);
  try {
    // Postgres first: it is quick to check, and a missing server should not cost a broker start.
    const serverUrl = postgresServerUrl(env);
    await assertPostgresReachable(serverUrl, env["POSTGRES_URL"] === undefined ? "POSTGRES_URL (unset: the default)" : "POSTGRES_URL");

    const existing = env["KAFKA_BROKERS"];
    let brokers: string[];
    if (existing !== undefined && existing !== "") {
      brokers = existing.split(",").map((broker) => broker.trim());
    } else {
      // The development stack keeps its broker's data in .tributary/kafka; a stack on databases of
      // its own (a day run, a test) gets a data folder of its own that goes when it stops — two
      // brokers formatting one folder at once (concurrent day-run tests) killed one of them.
      const cluster = await startKafka({ nodes: 1, ...(databaseSuffix === "" ? { dataDir: resolve(repoRoot, ".tributary/kafka") } : {}) });
      stops.push(() => cluster.stop());
      brokers = [...cluster.brokers];
    }
    await assertKafkaReachable({ brokers }, existing ? "KAFKA_BROKERS" : "the local broker this command started");
    const kafka = new Kafka({ clientId: "tributary-stack", brokers, logLevel: logLevel.WARN });
    await ensureTopics(kafka, allTopics);

    // TRIBUTARY_DATABASE_SUFFIX (e.g. `_test_123`) runs the stack on its own set of databases,
    // as the stack's own tests do; unset, it uses the development databases.
    const migrated = await migrateAll({ repoRoot, serverUrl, databaseSuffix });

    const sandbox = await startSandbox({ ...options.sandbox, port: 0 });
    stops.push(() => sandbox.stop());

    const context: StackContext = {
      repoRoot,
      brokers,
      postgresServerUrl: serverUrl,
      databaseSuffix,
      sandboxUrl: sandbox.url,
      logDir: join(repoRoot, ".tributary", `logs${databaseSuffix}`),
      tracesDir: env["TRIBUTARY_TRACES_DIR"] ?? localTracesDir(repoRoot, databaseSuffix),
    };
    const operatorToken = randomBytes(24).toString("base64url");
    const services: StackService[] = [];
    /** A service that has started: stopped with the rest, listed in the summary. */
    const register = (service: StackService): StackService => {
      stops.push(async () => void (await service.process.stop()));
      services.push(service);
      return service;
    };
    /**
     * Starts services side by side; each is registered the moment it is ready (so a failure of
     * another still stops it), in the order given; the first failure is thrown once all settled.
     */
    const startAll = async <T extends readonly Promise<StackService>[]>(starting: readonly [...T]): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> => {
      const settled = await Promise.allSettled(starting);
      for (const result of settled) if (result.status === "fulfilled") register(result.value);
      const failed = settled.find((result): result is PromiseRejectedResult => result.status === "rejected");
      if (failed !== undefined) throw failed.reason;
      return settled.map((result) => (result as PromiseFulfilledResult<StackService>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
    };
    // Every service side by side: on a loaded 2-core machine each process spends most of its
    // start-up loading TypeScript, so starting them together costs little more than the slowest.
    // The workers are told settlement's address up front; they call it only when a bill arrives.
    const reconciliation = { providers: PROVIDER_IDS, token: randomBytes(24).toString("base64url") };
    const settlementAddress = `127.0.0.1:${await freeLocalPort()}`;
    // The workers' credentials files go when the stack does (after the workers have stopped).
    stops.push(() => Promise.resolve(rmSync(reconciliationConfigDir(context), { recursive: true, force: true })));
    stops.push(() => Promise.resolve(rmSync(reconciliationBillDir(context), { recursive: true, force: true })));
    const [order] = await startAll([
      startOrderProcess(context, operatorToken),
      startPaymentRoutingProcess(context, operatorToken, join(DEFAULT_KEYS_DIR, "keys.json"), {
        ...(options.paymentRoutingEnv === undefined ? {} : { env: options.paymentRoutingEnv }),
      }),
      startSettlementProcess(context, operatorToken, reconciliation, settlementAddress),
      startReconciliationProcess(context, reconciliation.providers, sandbox.providers, { grpcAddress: settlementAddress, token: reconciliation.token }, operatorToken),
    ]);

    writeStackState(statePath, {
      pid: process.pid,
      startedAt: new Date(started).toISOString(),
      kafka: { brokers, local: !existing },
      postgres: { serverUrl: redactPassword(serverUrl), databases: migrated.map((database) => database.database) },
      sandboxUrl: sandbox.url,
      operatorToken,
      services: services.map((service) => ({
        name: service.name,
        pid: service.process.pid,
        ...(service.grpcAddress === undefined ? {} : { grpcAddress: service.grpcAddress }),
        healthAddress: service.healthAddress,
        logFile: service.process.logFile,
      })),
    });
    stops.push(() => Promise.resolve(removeStackState(statePath)));

    const smoke = await runSmokeFlow({
      kafka,
      orderAddress: order.grpcAddress,
      token: operatorToken,
      merchantId: "m-taobao-1",
      pay: (provider, paymentId) => sandbox.pay(sandboxProviderName(provider), paymentId),
    });

    print(`Tributary local stack (up in ${Date.now() - started} ms)`);
    print(`  kafka     ${brokers.join(",")}${existing ? " (KAFKA_BROKERS)" : " (local KRaft broker)"}`);
    print(`  topics    ${allTopics.map((t) => t.name).join(", ")} (+ .dlq each)`);
    for (const database of migrated) {
      print(
        `  postgres  ${database.database}: ${database.applied.length} migrations applied now, ` +
          `${database.alreadyApplied.length} before (${database.service.packageName})`,
      );
    }
    print(`  sandbox   ${sandbox.url} (Alipay, WeChat Pay, UnionPay, JD Pay, e-CNY)`);
    for (const service of services) {
      const grpc = service.grpcAddress === undefined ? "" : `, gRPC ${service.grpcAddress}`;
      print(`  ${service.name.padEnd(16)} pid ${service.process.pid}${grpc}, health http://${service.healthAddress}/readyz`);
      print(`                   log ${service.process.logFile}`);
    }
    print(`  token     ${operatorToken} (every service's API: ${services.flatMap((service) => service.operatorScopes).join(" ")}; every merchant and provider)`);
    for (const line of smoke) print(`  smoke     ${line}`);
    print(`KAFKA_BROKERS=${brokers.join(",")}`);
    print(`state: ${statePath} (tributary stack status | stack down)`);

    options.onUp?.();
    await options.whenUp?.({ kafka, brokers, serverUrl, databaseSuffix, sandbox, operatorToken, services });
    if (options.exit) return;
    print("running; Ctrl-C (or SIGTERM, or tributary stack down) stops everything");
    const signal = await options.stopRequested;
    print(`stack: ${signal}, stopping`);
  } finally {
    await stops.stopAll();
  }
}

function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== "") parsed.password = "***";
  return parsed.toString();
}
