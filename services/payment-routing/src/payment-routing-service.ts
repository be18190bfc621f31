import { ordersTopic, paymentsTopic, routingTopic, type ProviderId } from "@tributary/contracts";
import { newEventId } from "@tributary/events";
import type { TokenTable } from "@tributary/grpc";
import { startServiceRuntime, type KafkaSettings } from "@tributary/service-kit";
import { createLogger, type Logger } from "@tributary/telemetry";
import type { Pool } from "pg";
import { inTransaction } from "./adapters/db/in-transaction.js";
import { createPgPaymentStore } from "./adapters/db/pg-payment-store.js";
import { createPaymentRoutingGrpcRegistration } from "./adapters/grpc/payment-routing-grpc-registration.js";
import { startWebhookServer } from "./adapters/http/webhook-server.js";
import { startOrdersConsumer } from "./adapters/kafka/orders-consumer.js";
import { createPaymentOutbox, PAYMENT_ROUTING_PRODUCER } from "./adapters/kafka/payment-outbox.js";
import type { PaymentStatusReport, ProviderAdapter, RefundStatusReport } from "./adapters/providers/provider-adapter.js";
import { applyPaymentReport, type LifecycleOutcome } from "./app/apply-payment-report.js";
import { applyRefundReport } from "./app/apply-refund-report.js";
import { createHealthTracker, type HealthTracker } from "./app/health-tracker.js";
import { startPaymentWorker, type InTransaction, type SweepReport } from "./app/payment-worker.js";
import { startGuardrailMonitor } from "./app/policy/guardrail-monitor.js";
import type { PolicySource } from "./app/policy-source.js";
import { openPolicyStore } from "./adapters/prisma/open-policy-store.js";
import { DEFAULT_LIFECYCLE_TIMINGS, type LifecycleDeps, type LifecycleTimings, type PaymentRecord, type Tx } from "./app/ports.js";
import { startPaymentRoutingMetrics } from "./payment-routing-metrics.js";
import type { RoutingPolicy } from "./domain/routing/routing-policy.js";

/** Everything the payment-routing service needs from its environment; `main.ts` builds it from env vars. */
export interface PaymentRoutingServiceConfig {
  /** The service's own, migrated database (tributary_payment_routing). */
  readonly databaseUrl: string;
  /** Kafka bootstrap servers; or `kafka` for TLS/SASL settings too. */
  readonly kafkaBrokers?: readonly string[];
  readonly kafka?: KafkaSettings;
  /** One adapter per provider this instance talks to; a rail without one is never routed to. */
  readonly adapters: readonly ProviderAdapter[];
  /**
   * Where the routing policy comes from — one of the two:
   * - `policyStore`: the Prisma-backed store (production, the stack): versions, audit, the cached
   *   source routing reads, the guardrail monitor, and the gRPC policy methods;
   * - `policySource`: a fixed or test source; no gRPC service then (it writes through the store).
   */
  readonly policySource?: PolicySource;
  readonly policyStore?: PolicyStoreSettings;
  /** The base URL providers post notifications to: each provider's is `<base>/webhooks/<provider>`. */
  readonly notifyBaseUrl: string;
  /** `host:port` the gRPC PaymentRoutingService serves on (needs `policyStore` and `tokens`); none unless told. */
  readonly grpcAddress?: string;
  /** Bearer tokens of the gRPC API: scopes `routing:preview`, `payments:read`, `routing:read`, `routing:admin`. */
  readonly tokens?: TokenTable;
  /**
   * `host:port` the webhook HTTP server listens on (`POST /webhooks/<provider>`); none unless
   * told (tests that drive notifications themselves). `notifyBaseUrl` is what providers are told,
   * which behind a balancer differs from this bind address.
   */
  readonly webhookAddress?: string;
  /** `host:port` for HTTP `/livez` and `/readyz`; none unless told. */
  readonly healthAddress?: string;
  /** Largest number of pooled database connections; 10 unless told. */
  readonly poolSize?: number;
  /** Waits and timeouts of the lifecycle; {@link DEFAULT_LIFECYCLE_TIMINGS} for what is not told. */
  readonly timings?: Partial<LifecycleTimings>;
  /** Between sweeps of the payment worker when nothing nudges it; 1 s unless told. */
  readonly workerIntervalMs?: number;
  /** Consumer group on `orders.v1`; `payment-routing-orders` unless told (tests give each instance its own). */
  readonly ordersGroupId?: string;
  /** The clock; the system clock unless told. */
  readonly clock?: () => Date;
  /** The payment id generator; UUIDv7 without dashes (32 hex digits, every provider's order number rules allow it) unless told. */
  readonly newPaymentId?: () => string;
  /** Routing's exploration draw; `Math.random` unless told. */
  readonly random?: () => number;
  readonly logger?: Logger;
}

/** The Prisma-backed policy store's settings. */
export interface PolicyStoreSettings {
  /** Written as version 1 when the database holds no policy yet (never over an existing one). */
  readonly seed: RoutingPolicy;
  /** The merchants that exist, which a policy may name (validation refuses others). */
  readonly merchantIds: readonly string[];
  /** Between guardrail passes; 30 s unless told. */
  readonly guardrailIntervalMs?: number;
}

/**
 * The lifecycle's entry points for the webhook and gRPC layers, bound to this instance. Each
 * `apply*` runs in the caller's transaction and nudges the worker when it queued provider work.
 */
export interface PaymentLifecycle {
  applyPaymentReport(tx: Tx, paymentId: string, report: PaymentStatusReport): Promise<LifecycleOutcome>;
  applyRefundReport(tx: Tx, paymentId: string, report: RefundStatusReport): Promise<LifecycleOutcome>;
  /**
   * The same two in the shape of the webhook layer's `NotificationEffects`
   * (`adapters/http/notification-effects.ts`): pass it as `effects` to `startWebhookServer`.
   */
  readonly notificationEffects: {
    applyPayment(tx: Tx, report: PaymentStatusReport, context: { readonly payment?: { readonly record: PaymentRecord | undefined } }): Promise<LifecycleOutcome>;
    applyRefund(tx: Tx, report: RefundStatusReport & { readonly paymentId: string }, context: unknown): Promise<LifecycleOutcome>;
  };
  /** Works every due payment and refund now (tests, operators); the worker does it on its own too. */
  sweepOnce(): Promise<SweepReport>;
}

/** A running payment-routing service. */
export interface RunningPaymentRoutingService {
  readonly pool: Pool;
  readonly lifecycle: PaymentLifecycle;
  /** This instance's view of provider health (for ListProviderHealth). */
  readonly health: HealthTracker;
  readonly adapters: ReadonlyMap<ProviderId, ProviderAdapter>;
  /** The HTTP health endpoint's `host:port`, when one was asked for. */
  readonly healthAddress: string | undefined;
  /** The gRPC PaymentRoutingService's `host:port`, when one was asked for. */
  readonly grpcAddress: string | undefined;
  /** The webhook server's `host:port`, when one was asked for. */
  readonly webhookAddress: string | undefined;
  /** Stops taking events and sweeping, lets in-flight work finish, closes every connection. */
  stop(): Promise<void>;
}

/** A payment id: UUIDv7 as 32 hex digits (UnionPay takes 8–40 letters and digits, no dashes). */
function defaultPaymentId(): string {
  return newEventId().replaceAll("-", "");
}

/**
 * Starts payment-routing in this process on the service kit: the routing policy store (Prisma),
 * the outbox relay to `payments.v1` and `routing.v1`, the payment worker (every provider call,
 * the lost-notification sweeper, timeouts, refunds), the `orders.v1` consumer (OrderAccepted →
 * route + first attempt; refund requests), the webhook server, the guardrail monitor and the gRPC
 * PaymentRoutingService — stopped in the reverse order. `main.ts` calls it with the environment's settings; tests call
 * it with the sandbox's adapters.
 */
export async function startPaymentRoutingService(config: PaymentRoutingServiceConfig): Promise<RunningPaymentRoutingService> {
  const logger = config.logger ?? createLogger({ serviceName: PAYMENT_ROUTING_PRODUCER });
  const runtime = await startServiceRuntime({
    name: PAYMENT_ROUTING_PRODUCER,
    databaseUrl: config.databaseUrl,
    databaseSetting: "PAYMENT_ROUTING_DATABASE_URL",
    ...(config.poolSize === undefined ? {} : { poolSize: config.poolSize }),
    kafka: config.kafka ?? { brokers: config.kafkaBrokers ?? [] },
    topics: [ordersTopic, paymentsTopic, routingTopic],
    ...(config.healthAddress === undefined ? {} : { healthAddress: config.healthAddress }),
    logger,
  });
  try {
    const adapters = new Map<ProviderId, ProviderAdapter>();
    for (const adapter of config.adapters) {
      if (adapters.has(adapter.provider)) throw new Error(`two adapters for ${adapter.provider}`);
      adapters.set(adapter.provider, adapter);
    }
    const clock = config.clock ?? (() => new Date());
    if ((config.policySource === undefined) === (config.policyStore === undefined)) {
      throw new Error("payment-routing needs exactly one of policySource (fixed, tests) and policyStore (the database)");
    }
    const settings = config.policyStore;
    const store =
      settings === undefined
        ? undefined
        : await runtime.start("routing policy store", () =>
            openPolicyStore({
              databaseUrl: config.databaseUrl,
              producerName: PAYMENT_ROUTING_PRODUCER,
              seed: settings.seed,
              references: () => ({ merchantIds: new Set(settings.merchantIds) }),
              clock,
              onError: (error, what) => logger.error({ err: error }, what),
            }),
          );
    const source: PolicySource = store?.source ?? config.policySource!;
    // The tracker reads the health and breaker settings of the policy routing last used.
    let latest: RoutingPolicy = await source.current();
    const policySource: PolicySource = {
      current: async () => {
        latest = await source.current();
        return latest;
      },
    };
    const health = createHealthTracker(() => ({ health: latest.health, breaker: latest.breaker }));
    const base = config.notifyBaseUrl.replace(/\/+$/, "");
    const { pool } = runtime;
    // Instruments made now, after telemetry started (main.ts starts it first; tests before this call).
    const serviceMetrics = await runtime.start("payment-routing metrics", () =>
      Promise.resolve(startPaymentRoutingMetrics({ health, providers: [...adapters.keys()], clock })),
    );
    const deps: LifecycleDeps = {
      pool,
      store: createPgPaymentStore(),
      outbox: serviceMetrics.countingOutbox(createPaymentOutbox()),
      adapters,
      policySource,
      health,
      clock,
      newPaymentId: config.newPaymentId ?? defaultPaymentId,
      random: config.random ?? Math.random,
      notifyUrl: (provider) => `${base}/webhooks/${provider}`,
      timings: { ...DEFAULT_LIFECYCLE_TIMINGS, ...config.timings },
      metrics: serviceMetrics.lifecycle,
      logger,
    };
    const transaction: InTransaction = (work) => inTransaction(pool, work);

    await runtime.startRelay();
    const worker = await runtime.start("payment worker", () =>
      Promise.resolve(startPaymentWorker(deps, { inTransaction: transaction, ...(config.workerIntervalMs === undefined ? {} : { intervalMs: config.workerIntervalMs }) })),
    );
    const nudgeAfter = (outcome: LifecycleOutcome): LifecycleOutcome => {
      if (outcome.code !== "retry_later" && outcome.followUp === true) worker.nudge();
      return outcome;
    };
    const lifecycle: PaymentLifecycle = {
      applyPaymentReport: async (tx, paymentId, report) => nudgeAfter(await applyPaymentReport(deps, tx, paymentId, report)),
      applyRefundReport: async (tx, paymentId, report) => nudgeAfter(await applyRefundReport(deps, tx, paymentId, report)),
      notificationEffects: {
        // The webhook's id-storing statement locked and read the payment row already (context.payment).
        applyPayment: async (tx, report, context) => nudgeAfter(await applyPaymentReport(deps, tx, report.paymentId, report, context.payment)),
        applyRefund: async (tx, report) => nudgeAfter(await applyRefundReport(deps, tx, report.paymentId, report)),
      },
      sweepOnce: () => worker.sweepOnce(),
    };
    await runtime.start("orders.v1 consumer", () =>
      startOrdersConsumer({
        kafka: runtime.kafka,
        pool,
        deps,
        ...(config.ordersGroupId === undefined ? {} : { groupId: config.ordersGroupId }),
        afterHandled: () => worker.nudge(),
      }),
    );

    const webhooks =
      config.webhookAddress === undefined
        ? undefined
        : await runtime.start("webhook server", () =>
            startWebhookServer({ address: config.webhookAddress!, adapters: config.adapters, pool, effects: lifecycle.notificationEffects, clock, logger }),
          );
    if (store !== undefined) {
      await runtime.start("guardrail monitor", () =>
        Promise.resolve(
          startGuardrailMonitor({
            deps: store.guardrail,
            intervalMs: settings?.guardrailIntervalMs ?? 30_000,
            onError: (error) => logger.error({ err: error }, "a guardrail pass failed; the next one runs as usual"),
          }),
        ),
      );
    }
    let grpcAddress: string | undefined;
    if (config.grpcAddress !== undefined) {
      if (store === undefined || config.tokens === undefined) throw new Error("the gRPC PaymentRoutingService needs policyStore and tokens");
      const grpc = await runtime.serveGrpc({
        address: config.grpcAddress,
        tokens: config.tokens,
        register: createPaymentRoutingGrpcRegistration({ policies: store.commands, policySource, health, payments: store.payments, clock }),
      });
      grpcAddress = grpc.address;
    }

    runtime.markReady();
    return {
      pool,
      lifecycle,
      health,
      adapters,
      healthAddress: runtime.healthAddress,
      grpcAddress,
      webhookAddress: webhooks?.address,
      stop: () => runtime.stop(),
    };
  } catch (error) {
    await runtime.stop();
    throw error;
  }
}
