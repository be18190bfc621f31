import { ordersTopic, paymentsTopic, reconciliationTopic, settlementTopic } from "@tributary/contracts";
import { SettlementService } from "@tributary/contracts/settlement/v1/settlement_service";
import type { TokenTable } from "@tributary/grpc";
import { startServiceRuntime, type KafkaSettings } from "@tributary/service-kit";
import { createLogger, type Logger } from "@tributary/telemetry";
import { v7 as uuidv7 } from "uuid";
import { startCheckpointer } from "./adapters/db/checkpointer.js";
import { startDayCloser } from "./adapters/db/day-closer.js";
import { startPayoutScheduler } from "./adapters/db/payout-scheduler.js";
import { ensurePlatformAccounts } from "./adapters/db/pg-ledger.js";
import { settlementErrorCodes } from "./adapters/grpc/settlement-error-codes.js";
import { settlementServiceAccess } from "./adapters/grpc/settlement-service-access.js";
import { createSettlementServiceHandlers } from "./adapters/grpc/settlement-service-handlers.js";
import { createPrismaBatchReads } from "./adapters/prisma/prisma-batch-reads.js";
import { startOrdersConsumer } from "./adapters/kafka/orders-consumer.js";
import { startPaymentsConsumer } from "./adapters/kafka/payments-consumer.js";
import { startReconciliationConsumer } from "./adapters/kafka/reconciliation-consumer.js";
import type { SettlementDeps } from "./app/ports.js";
import { startSettlementMetrics, type SettlementMetrics } from "./settlement-metrics.js";
import { DEFAULT_FEE_TERMS, type FeeTerms } from "./domain/fee-terms.js";

/** The producer name of the settlement service's outbox. */
export const SETTLEMENT_PRODUCER = "settlement";

/** Everything the settlement service needs from its environment; `main.ts` builds it from env vars. */
export interface SettlementServiceConfig {
  /** The service's own database, migrated (tributary_settlement). */
  readonly databaseUrl: string;
  readonly kafka: KafkaSettings;
  /** `host:port` to serve the read API (SettlementService) on; port 0 picks a free port. */
  readonly grpcAddress: string;
  /** Bearer tokens: `settlement:read` bound to merchants, `settlement:records` bound to providers. */
  readonly tokens: TokenTable;
  /** Fee schedules, commissions, reserves and cycles; the public default rates unless told. */
  readonly terms?: FeeTerms;
  /** How often balance checkpoints are taken; 60 s unless told. */
  readonly checkpointIntervalMs?: number;
  /** Close each provider's days on a schedule: `graceMs` after the cut-off, looked for every `intervalMs`. None unless told. */
  readonly dayCloser?: { readonly intervalMs: number; readonly graceMs: number };
  /** Pay reconciled batches out once their settlement date has come, looked for every `intervalMs`. None unless told. */
  readonly payouts?: { readonly intervalMs: number };
  readonly healthAddress?: string;
  readonly poolSize?: number;
  readonly clock?: () => Date;
  readonly newId?: () => string;
  readonly logger?: Logger;
  /** Consumer group ids (tests run several services on one broker). */
  readonly paymentsGroupId?: string;
  readonly ordersGroupId?: string;
  readonly reconciliationGroupId?: string;
}

/** A running settlement service. */
export interface RunningSettlementService {
  readonly deps: SettlementDeps;
  /** `host:port` gRPC clients dial. */
  readonly address: string;
  readonly healthAddress: string | undefined;
  /** Settlement's own instruments (`settlement.postings`, `settlement.ledger.imbalance`); `refreshNow` reads the imbalance at once. */
  readonly metrics: SettlementMetrics;
  stop(): Promise<void>;
}

/**
 * Starts the settlement service on the service kit: the outbox relay to `settlement.v1`, the
 * `payments.v1` consumer (captures and refunds → ledger entries), the `orders.v1` consumer (refund
 * requests → pending reservations), the `reconciliation.v1` consumer (batches reconciled or held),
 * the balance checkpointer, the gRPC SettlementService (which writes no ledger entry of its own),
 * and when configured the business day closer and the payout scheduler — stopped in reverse order.
 */
export async function startSettlementService(config: SettlementServiceConfig): Promise<RunningSettlementService> {
  const runtime = await startServiceRuntime({
    name: SETTLEMENT_PRODUCER,
    databaseUrl: config.databaseUrl,
    databaseSetting: "SETTLEMENT_DATABASE_URL",
    ...(config.poolSize === undefined ? {} : { poolSize: config.poolSize }),
    kafka: config.kafka,
    topics: [paymentsTopic, ordersTopic, settlementTopic, reconciliationTopic],
    ...(config.healthAddress === undefined ? {} : { healthAddress: config.healthAddress }),
    logger: config.logger ?? createLogger({ serviceName: SETTLEMENT_PRODUCER }),
  });
  const { pool, logger } = runtime;
  // Instruments made now, after telemetry started (main.ts starts it first; tests before this call).
  const metrics = await runtime.start("settlement metrics", () => Promise.resolve(startSettlementMetrics({ pool, logger })));
  const deps: SettlementDeps = {
    terms: config.terms ?? DEFAULT_FEE_TERMS,
    newId: config.newId ?? (() => uuidv7()),
    clock: config.clock ?? (() => new Date()),
    ledgerMetrics: metrics.ledger,
  };
  try {
    // The platform-wide accounts exist before the first posting, so no two first postings wait on
    // each other's creation of them.
    await ensurePlatformAccounts(pool, ["CNY"]);
    await runtime.startRelay();
    await runtime.start("payments.v1 consumer", () =>
      startPaymentsConsumer({ kafka: runtime.kafka, pool, deps, logger, ...(config.paymentsGroupId === undefined ? {} : { groupId: config.paymentsGroupId }) }),
    );
    await runtime.start("orders.v1 consumer", () =>
      startOrdersConsumer({ kafka: runtime.kafka, pool, deps, logger, ...(config.ordersGroupId === undefined ? {} : { groupId: config.ordersGroupId }) }),
    );
    await runtime.start("reconciliation.v1 consumer", () =>
      startReconciliationConsumer({
        kafka: runtime.kafka,
        pool,
        deps,
        logger,
        ...(config.reconciliationGroupId === undefined ? {} : { groupId: config.reconciliationGroupId }),
      }),
    );
    await runtime.start("balance checkpointer", () =>
      Promise.resolve(startCheckpointer({ pool, intervalMs: config.checkpointIntervalMs ?? 60_000, logger })),
    );
    // Finance's batch reads go through Prisma Client on a pool of their own; stopped after the gRPC server.
    const reads = await runtime.start("prisma read side", () =>
      Promise.resolve(createPrismaBatchReads({ databaseUrl: config.databaseUrl, onPoolError: (error) => logger.warn({ err: error }, "settlement: prisma pool connection failed") })),
    );
    const grpc = await runtime.serveGrpc({
      address: config.grpcAddress,
      tokens: config.tokens,
      register: (server) =>
        server.addService(SettlementService, createSettlementServiceHandlers(pool, deps, reads), { access: settlementServiceAccess, errors: settlementErrorCodes }),
    });
    const dayCloser = config.dayCloser;
    if (dayCloser !== undefined) {
      await runtime.start("business day closer", () => Promise.resolve(startDayCloser({ pool, deps, ...dayCloser, logger })));
    }
    const payouts = config.payouts;
    if (payouts !== undefined) {
      await runtime.start("payout scheduler", () => Promise.resolve(startPayoutScheduler({ pool, deps, ...payouts, logger })));
    }
    runtime.markReady();
    return { deps, address: grpc.address, healthAddress: runtime.healthAddress, metrics, stop: () => runtime.stop() };
  } catch (error) {
    await runtime.stop();
    throw error;
  }
}
