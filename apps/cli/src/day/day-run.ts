/**
 * `tributary day run`: one business day end to end on the local stack. It brings its own stack
 * up (`stackUp`, on a fresh set of databases, so every run's ledger holds exactly its own day),
 * publishes the simulated orders, waits until every order is paid or has failed, closes the day
 * in settlement, makes each provider's bill of the day available and announces it on
 * `statements.v1`, waits for each reconciliation worker's `ReconciliationCompleted` and for
 * settlement to mark its batches, writes the reports to `./out/<day>/` and returns the summary.
 * Every number in the summary is counted from the events on the topics or the services' rows.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Kafka } from "kafkajs";
import pg from "pg";
import { PROVIDER_IDS, sandboxProviderName, statementsTopic, type ProviderId, type SandboxProviderName } from "@tributary/contracts";
import { createIdempotentProducer } from "@tributary/events";
import { databaseUrl, dropDatabase, findServiceDatabases, postgresServerUrl } from "@tributary/local-postgres";
import type { BillDiscrepancy, SandboxOptions } from "@tributary/provider-sandbox";
import { closeBusinessDay, DEFAULT_FEE_TERMS, shanghaiBusinessDate, shanghaiDayBounds } from "@tributary/settlement";
import { CliError } from "../cli-context.js";
import { statementMessage } from "../recon/statement-message.js";
import { publishOrders } from "../simulate/publish-orders.js";
import { defaultSimulation, simulatedOrders } from "../simulate/simulated-orders.js";
import type { ShutdownList } from "../stack/shutdown-list.js";
import { stackUp, type RunningStack } from "../stack/stack-up.js";
import { readStackState, stackStatePath } from "../stack/stack-state.js";
import { watchDay, type DayEvents } from "./day-watch.js";
import { summariseDay, type DaySummary } from "./day-summary.js";
import { writeDayReports } from "./day-reports.js";
import { startAlipayAppBuyers, type AlipayAppBuyers } from "./alipay-app-buyers.js";
import { isTrialTreatment, stepLabel, switchOnWechatTrial, trialOutcome, type StepRouting } from "./wechat-trial.js";

/** What `day run` is asked to do. */
export interface DayRunOptions {
  readonly repoRoot: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly orders: number;
  readonly seed: number;
  /** Where the reports go (`./out` of the working directory by default). */
  readonly outDir: string;
  readonly stops: ShutdownList;
  /** Lines about the stack and each step (stderr when the summary is JSON). */
  readonly print: (line: string) => void;
  readonly progress: DayProgress;
}

/** Progress of the long waits (bars on a terminal, nothing otherwise). */
export interface DayProgress {
  start(task: string, total: number): void;
  update(task: string, value: number): void;
  stop(): void;
}

/**
 * How long a payment may stay open in the day run's payment-routing before it is closed at the
 * provider and failed: seconds, not the production 15 minutes, so abandoned checkouts end the
 * day quickly — 20 ms per order of the day, at least 20 s (40 s for 2,000), because a payment's clock
 * starts when it is routed and a large day's waves queue in the payment worker before the
 * provider even has them (2,000 orders at 20 s: 658 of them timed out with the buyer still to
 * pay). Its first status query comes after 4 s, then every 4 s.
 */
export function dayPaymentTimeoutMs(orders: number): number {
  return Math.max(20_000, orders * 20);
}

/** Runs one business day; throws a CliError naming the step that failed. */
export async function runDay(options: DayRunOptions): Promise<DaySummary> {
  const started = Date.now();
  const env = { ...options.env };
  // A day of its own: the day run's databases (suffix `_day` unless TRIBUTARY_DATABASE_SUFFIX says
  // otherwise) are dropped and migrated afresh, so the ledger, the batches and the sandbox's
  // bills (the sandbox lives in this process) all hold exactly this run's payments.
  const databaseSuffix = env["TRIBUTARY_DATABASE_SUFFIX"] ?? "_day";
  // A development stack already running has the local broker (and its data folder): share it.
  const developmentStack = readStackState(stackStatePath(options.repoRoot, ""));
  if ((env["KAFKA_BROKERS"] ?? "") === "" && developmentStack !== undefined && alive(developmentStack.pid)) {
    env["KAFKA_BROKERS"] = developmentStack.kafka.brokers.join(",");
    options.print(`day run: using the running stack's broker ${env["KAFKA_BROKERS"]}`);
  }
  env["TRIBUTARY_DATABASE_SUFFIX"] = databaseSuffix;
  const serverUrl = postgresServerUrl(env);
  await step("fresh databases", async () => {
    for (const service of await findServiceDatabases(options.repoRoot)) await dropDatabase(serverUrl, `${service.database}${databaseSuffix}`);
  });

  // The bill day is today in Asia/Shanghai. Its cut-off (00:00 the next day) has not come, so the
  // sandbox is told to serve a day's bill from the start of that day (a snapshot of what it has
  // processed when asked), and the day is closed in settlement as of its cut-off: see README.
  const billDate = shanghaiBusinessDate(new Date());
  const { cutoff } = shanghaiDayBounds(billDate);
  const injected: Record<SandboxProviderName, BillDiscrepancy[]> = { alipay: [], wechat: [], unionpay: [], jdpay: [], ecny: [] };
  const sandbox: Omit<SandboxOptions, "port"> = {
    seed: options.seed,
    timing: { billReadyAfterMs: -24 * 60 * 60 * 1000 },
    faults: {
      wechat: { lostNotifyRate: 0.05, duplicateNotifyRate: 0.05 },
      alipay: { duplicateNotifyRate: 0.05, outOfOrderNotifyRate: 0.02 },
      jdpay: { lostNotifyRate: 0.05 },
    },
    // Filled once the payments are known (the sandbox reads them when a bill is asked for).
    discrepancies: injected,
    onError: () => undefined,
  };

  let summary: DaySummary | undefined;
  await stackUp({
    repoRoot: options.repoRoot,
    env,
    exit: true,
    stops: options.stops,
    stopRequested: new Promise<string>(() => {}),
    print: options.print,
    sandbox,
    paymentRoutingEnv: {
      PAYMENT_ROUTING_PAYMENT_TIMEOUT_MS: String(dayPaymentTimeoutMs(options.orders)),
      PAYMENT_ROUTING_FIRST_QUERY_AFTER_MS: "4000",
      PAYMENT_ROUTING_QUERY_INTERVAL_MS: "4000",
    },
    whenUp: async (stack) => {
      summary = await businessDay(options, stack, { billDate, cutoff, injected, started, databaseSuffix });
    },
  }).catch((error: unknown) => {
    if (error instanceof CliError) throw error;
    throw new CliError(`day run: step "stack up" failed: ${message(error)}`);
  });
  if (summary === undefined) throw new CliError("day run: the stack stopped before the day ran");
  return summary;
}

interface DayContext {
  readonly billDate: string;
  readonly cutoff: Date;
  readonly injected: Record<SandboxProviderName, BillDiscrepancy[]>;
  readonly started: number;
  readonly databaseSuffix: string;
}

async function businessDay(options: DayRunOptions, stack: RunningStack, day: DayContext): Promise<DaySummary> {
  const runId = `day-${day.billDate}-${Date.now()}`;
  const orders = simulatedOrders(defaultSimulation(runId, options.orders, options.seed));
  const settlementDb = new pg.Pool({ connectionString: databaseUrl(stack.serverUrl, `tributary_settlement${day.databaseSuffix}`), max: 3 });
  const reconciliationDb = new pg.Pool({ connectionString: databaseUrl(stack.serverUrl, `tributary_reconciliation${day.databaseSuffix}`), max: 2 });
  const watch = await step("watch the topics", () => watchDay(stack.kafka, runId, day.billDate));
  const { events } = watch;
  const { progress } = options;
  let appBuyers: AlipayAppBuyers | undefined;
  try {
    const dayStarted = Date.now();
    options.print(`day ${day.billDate}: run ${runId}, ${orders.length} orders (seed ${options.seed})`);

    // The roll-out story: WeChat Pay switched on in trial, its ramp stepping while the orders come
    // in wave by wave, one wave per step (see wechat-trial.ts).
    const paymentRoutingAddress = stack.services.find((service) => service.name === "payment-routing")?.grpcAddress ?? "";
    const stepMs = Math.max(6_000, Math.ceil(orders.length / 4 / 40) * 1_000);
    const trial = await step("switch on the WeChat Pay trial", () => switchOnWechatTrial(paymentRoutingAddress, stack.operatorToken, day.billDate, stepMs));
    options.print(`roll-out ${trial.rolloutId}: WeChat Pay in trial (policy v${trial.policyVersion}), a step every ${stepMs / 1000} s: ${trial.steps.map((s) => stepLabel(s)).join(" → ")}`);
    // The buyers whose Alipay app submits an app payment's order string (see alipay-app-buyers.ts).
    appBuyers = startAlipayAppBuyers({
      paymentRoutingAddress,
      token: stack.operatorToken,
      appPayUrl: stack.sandbox.providers.alipay.appPayUrl,
      attempts: events.attempts,
      actionTimeoutMs: dayPaymentTimeoutMs(options.orders),
    });
    const stepRouting: StepRouting[] = [];
    await step("publish orders", async () => {
      progress.start("published", orders.length);
      const waveSize = Math.ceil(orders.length / trial.steps.length);
      let seen = new Set<string>();
      for (const [index, trialStep] of trial.steps.entries()) {
        const wait = trialStep.startsAt.getTime() - Date.now();
        if (wait > 0) await sleep(wait);
        const wave = orders.slice(index * waveSize, (index + 1) * waveSize);
        await publishOrders(stack.kafka, wave, (count) => progress.update("published", index * waveSize + count));
        // Each wave routed within its own step, as far as the pipeline keeps up (never past the next step).
        const nextStep = trial.steps[index + 1]?.startsAt.getTime() ?? Date.now() + stepMs;
        await settle(() => routedOrFailed(events) >= Math.min(index * waveSize + wave.length, orders.length) - events.rejected.size, nextStep - 200);
        const routedNow = [...events.routed.entries()].filter(([orderId]) => !seen.has(orderId));
        stepRouting.push({ step: stepLabel(trialStep), routed: routedNow.length, treatment: routedNow.filter(([, route]) => isTrialTreatment(route.rule, trial.rolloutId)).length });
        seen = new Set(events.routed.keys());
      }
    });

    await step("orders answered", async () => {
      progress.start("answered ", orders.length);
      await until(() => events.accepted.size + events.rejected.size, orders.length, 60_000 + orders.length * 50, (n) => progress.update("answered ", n), "OrderAccepted / OrderRejected on orders.v1");
    });

    const accepted = events.accepted.size;
    await step("every order terminal", async () => {
      progress.start("terminal ", accepted);
      await until(
        () => countTerminal(events),
        accepted,
        dayPaymentTimeoutMs(options.orders) * 3 + 60_000 + accepted * 100,
        (n) => progress.update("terminal ", n),
        "OrderPaid / OrderPaymentFailed on orders.v1 for every accepted order",
      );
    });

    const appBuying = await appBuyers.stop();
    options.print(
      `Alipay app payments: ${appBuying.seen} handed to the buyer's app, ${appBuying.submitted} order strings accepted by Alipay` +
        (appBuying.failed.length === 0 ? "" : `, ${appBuying.failed.length} not: ${appBuying.failed.slice(0, 3).join("; ")}`),
    );

    // Every capture must be in the ledger before the day is closed (captures booked later would
    // land in the next day's batch, as a late capture does).
    const captureKeys = [...events.captured.keys()].map((paymentId) => `capture:${paymentId}`);
    await step("settlement posted every capture", async () => {
      progress.start("posted   ", captureKeys.length);
      await until(
        async () => Number((await settlementDb.query<{ n: string }>("SELECT count(*) AS n FROM journal_entry WHERE source_key = ANY($1)", [captureKeys])).rows[0]?.n ?? 0),
        captureKeys.length,
        60_000 + captureKeys.length * 50,
        (n) => progress.update("posted   ", n),
        "settlement's journal entries for every PaymentCaptured",
      );
    });
    progress.stop();

    // The bill discrepancies the sandbox injects, drawn from this day's own payments so each one
    // can be looked for: per provider with payments, one fee off by a fen and one row left out.
    const injectedDiscrepancies = injectDiscrepancies(events, day.injected);

    const closedBatches = await step("close the business day", () => closeDay(settlementDb, day.billDate, day.cutoff));
    await step("SettlementBatchClosed published", () =>
      until(() => events.batchesClosed.size, closedBatches, 60_000, () => {}, "SettlementBatchClosed on settlement.v1 for every batch"),
    );

    await step("announce the bills", () => publishStatements(stack.kafka, day.billDate));
    await step("reconciliation completed", () =>
      until(() => events.reconciliations.size, PROVIDER_IDS.length, 120_000, () => {}, "ReconciliationCompleted on reconciliation.v1 from every provider's worker"),
    );
    await step("batches reconciled or held", () =>
      until(() => events.batchesReconciled.size + events.batchesHeld.size, closedBatches, 60_000, () => {}, "SettlementBatchReconciled / SettlementBatchHeld for every batch"),
    );

    const summary = await step("summarise", () =>
      summariseDay({
        runId,
        billDate: day.billDate,
        cutoff: day.cutoff,
        published: orders.length,
        events,
        injected: injectedDiscrepancies,
        settlementDb,
        reconciliationDb,
        paymentRoutingAddress: stack.services.find((service) => service.name === "payment-routing")?.grpcAddress ?? "",
        operatorToken: stack.operatorToken,
        dayMs: Date.now() - dayStarted,
        totalMs: Date.now() - day.started,
      }),
    );
    const trialResult = await step("the trial's guardrail verdict", () =>
      trialOutcome(databaseUrl(stack.serverUrl, `tributary_payment_routing${day.databaseSuffix}`), trial, stepRouting),
    );
    const withTrial: DaySummary = { ...summary, trial: trialResult };
    const reports = await step("write reports", () => writeDayReports({ outDir: options.outDir, summary: withTrial, settlementDb }));
    return { ...withTrial, reports };
  } finally {
    progress.stop();
    await appBuyers?.stop();
    await watch.stop();
    await settlementDb.end();
    await reconciliationDb.end();
  }
}

/** Accepted orders routed, or failed before any route (no rail would take them). */
function routedOrFailed(events: DayEvents): number {
  let count = events.routed.size;
  for (const orderId of events.failed.keys()) if (!events.routed.has(orderId)) count += 1;
  return count;
}

/** Polls `done` every 100 ms until it holds or `deadline` (epoch ms) passes; never fails. */
async function settle(done: () => boolean, deadline: number): Promise<void> {
  while (!done() && Date.now() < deadline) await sleep(100);
}

/** Orders that reached an end: paid, or their payment failed. */
function countTerminal(events: DayEvents): number {
  let count = 0;
  for (const orderId of events.accepted.values()) if (events.paid.has(orderId) || events.failed.has(orderId)) count += 1;
  return count;
}

/** One discrepancy injected into a provider's bill, for the summary and the test. */
export interface InjectedDiscrepancy {
  readonly provider: ProviderId;
  readonly kind: BillDiscrepancy["kind"];
  readonly paymentId: string;
  readonly providerTransactionId: string;
}

function injectDiscrepancies(events: DayEvents, into: Record<SandboxProviderName, BillDiscrepancy[]>): InjectedDiscrepancy[] {
  const injected: InjectedDiscrepancy[] = [];
  for (const provider of PROVIDER_IDS) {
    const payments = [...events.captured.values()].filter((payment) => payment.provider === provider).sort((a, b) => (a.paymentId < b.paymentId ? -1 : 1));
    const name = sandboxProviderName(provider);
    const [feeOff, leftOut] = payments;
    // A fee difference only where the provider charges a fee (e-CNY charges none: 0 − 1 fen is not a bill).
    if (feeOff !== undefined && feeOff.feeMinor > 0n) {
      into[name].push({ kind: "changed_fee", outTradeNo: feeOff.paymentId, deltaMinor: 1n });
      injected.push({ provider, kind: "changed_fee", paymentId: feeOff.paymentId, providerTransactionId: feeOff.providerTransactionId });
    }
    if (leftOut !== undefined) {
      into[name].push({ kind: "missing_row", outTradeNo: leftOut.paymentId });
      injected.push({ provider, kind: "missing_row", paymentId: leftOut.paymentId, providerTransactionId: leftOut.providerTransactionId });
    }
  }
  return injected;
}

/**
 * Closes the bill day of every provider with settlement's own use case (`closeBusinessDay`, in one
 * transaction per provider on settlement's database; its outbox relay publishes the batches).
 * Settlement serves no CloseBusinessDay RPC yet, and refuses a day before its cut-off by its
 * clock, so the use case is given a clock standing at the cut-off: the batches say they were
 * closed at 00:00 Asia/Shanghai of the next day. Returns how many batches were closed.
 */
async function closeDay(db: pg.Pool, billDate: string, cutoff: Date): Promise<number> {
  const deps: Parameters<typeof closeBusinessDay>[0] = { terms: DEFAULT_FEE_TERMS, newId: () => randomUUID(), clock: () => cutoff };
  let batches = 0;
  for (const provider of PROVIDER_IDS) {
    const client = await db.connect();
    try {
      await client.query("BEGIN");
      const result = await closeBusinessDay(deps, client, { provider, businessDate: billDate });
      if (!result.ok) throw new Error(`${provider}: ${result.error.code}: ${result.error.message}`);
      await client.query("COMMIT");
      if (result.value.alreadyClosed) throw new Error(`${provider} ${billDate} was already closed (the databases should have been fresh)`);
      batches += result.value.batches.length;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
  return batches;
}

/**
 * `StatementAvailable` for every provider's bill of the day on `statements.v1`, as a provider's
 * bill-ready notice (or a fetcher's schedule) would announce it: no location, so each worker
 * downloads the bill through the provider's own signed API.
 */
async function publishStatements(kafka: Kafka, billDate: string): Promise<void> {
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  try {
    await producer.send({
      topic: statementsTopic.name,
      acks: -1,
      messages: PROVIDER_IDS.map((provider) => statementMessage(provider, billDate, "tributary-day-run").message),
    });
  } finally {
    await producer.disconnect();
  }
}

/** Polls `count` until it reaches `target`; throws naming `what` after `timeoutMs`. */
async function until(count: () => number | Promise<number>, target: number, timeoutMs: number, onProgress: (n: number) => void, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await count();
    onProgress(n);
    if (n >= target) return;
    if (Date.now() > deadline) throw new Error(`${n} of ${target} within ${Math.round(timeoutMs / 1_000)} s: ${what}`);
    await sleep(200);
  }
}

/** Runs one step; a failure becomes a CliError that names it. */
async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`day run: step "${name}" failed: ${message(error)}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
