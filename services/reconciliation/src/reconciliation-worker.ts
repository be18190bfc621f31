import { reconciliationTopic, statementsTopic } from "@tributary/contracts";
import { ReconciliationService } from "@tributary/contracts/reconciliation/v1/reconciliation_service";
import type { TokenTable } from "@tributary/grpc";
import { startServiceRuntime, type KafkaSettings } from "@tributary/service-kit";
import { createLogger, type Logger } from "@tributary/telemetry";
import { createPgExceptionQueue } from "./adapters/db/pg-exception-queue.js";
import { reconciliationServiceAccess, reconciliationServiceErrors, reconciliationServiceHandlers } from "./adapters/grpc/reconciliation-service.js";
import { startStatementsConsumer } from "./adapters/kafka/statements-consumer.js";
import { RECONCILIATION_PRODUCER } from "./adapters/kafka/recon-outbox.js";
import type { LedgerRecordsSource } from "./app/ports.js";
import type { MatchConfig } from "./domain/match.js";
import { pgReconDeps } from "./recon-deps.js";
import { createReconciliationMetrics } from "./reconciliation-metrics.js";
import { createBillSource, type BillSourceConfig } from "./providers/bill-sources.js";

/** Everything one provider's worker needs; `main.ts` builds it from env vars. */
export interface ReconciliationWorkerConfig {
  /** The service's own database, migrated (tributary_reconciliation). */
  readonly databaseUrl: string;
  readonly kafka: KafkaSettings;
  /** The provider this worker reconciles, with its download credentials. */
  readonly source: BillSourceConfig;
  readonly matchConfig?: Partial<MatchConfig>;
  /**
   * Our side of the match; by default this service's `ledger_records` table. The settlement
   * service's gRPC stream plugs in here once it exists.
   */
  readonly ledger?: LedgerRecordsSource;
  readonly healthAddress?: string;
  /**
   * Serves `ReconciliationService` (list / resolve exceptions) on this address with these tokens
   * (`recon:read`, `recon:resolve`, bound to providers); none when omitted.
   */
  readonly grpc?: { readonly address: string; readonly tokens: TokenTable };
  readonly poolSize?: number;
  readonly groupId?: string;
  /** The folder `StatementAvailable` may name local bill files in; none (the default) refuses them. */
  readonly localBillRoot?: string;
  readonly clock?: () => Date;
  readonly logger?: Logger;
}

/** A running worker. */
export interface RunningReconciliationWorker {
  readonly healthAddress: string | undefined;
  /** `host:port` of ReconciliationService, when `grpc` was given. */
  readonly grpcAddress: string | undefined;
  stop(): Promise<void>;
}

/**
 * Starts one provider's reconciliation worker on the service kit: the outbox relay to
 * `reconciliation.v1` and the `statements.v1` consumer of that provider's group. Several workers
 * (one per provider, or several of one provider) share the database; the relay elects a leader.
 */
export async function startReconciliationWorker(config: ReconciliationWorkerConfig): Promise<RunningReconciliationWorker> {
  const logger = config.logger ?? createLogger({ serviceName: RECONCILIATION_PRODUCER });
  const runtime = await startServiceRuntime({
    name: RECONCILIATION_PRODUCER,
    databaseUrl: config.databaseUrl,
    databaseSetting: "RECONCILIATION_DATABASE_URL",
    ...(config.poolSize === undefined ? {} : { poolSize: config.poolSize }),
    kafka: config.kafka,
    topics: [statementsTopic, reconciliationTopic],
    ...(config.healthAddress === undefined ? {} : { healthAddress: config.healthAddress }),
    logger,
  });
  const deps = pgReconDeps({
    pool: runtime.pool,
    ...(config.ledger === undefined ? {} : { ledger: config.ledger }),
    ...(config.matchConfig === undefined ? {} : { matchConfig: config.matchConfig }),
    ...(config.clock === undefined ? {} : { clock: config.clock }),
  });
  try {
    await runtime.startRelay();
    await runtime.start(`statements.v1 consumer (${config.source.provider})`, () =>
      startStatementsConsumer({
        kafka: runtime.kafka,
        pool: runtime.pool,
        provider: config.source.provider,
        source: createBillSource(config.source),
        deps,
        logger: runtime.logger,
        ...(config.groupId === undefined ? {} : { groupId: config.groupId }),
        ...(config.localBillRoot === undefined ? {} : { localBillRoot: config.localBillRoot }),
        metrics: createReconciliationMetrics(),
      }),
    );
    const grpc = config.grpc;
    const served =
      grpc === undefined
        ? undefined
        : await runtime.serveGrpc({
            address: grpc.address,
            tokens: grpc.tokens,
            register: (server) =>
              server.addService(ReconciliationService, reconciliationServiceHandlers({ pool: runtime.pool, queue: createPgExceptionQueue(), outbox: deps.outbox, clock: config.clock ?? (() => new Date()) }), {
                access: reconciliationServiceAccess,
                errors: reconciliationServiceErrors,
              }),
          });
    runtime.markReady();
    return { healthAddress: runtime.healthAddress, grpcAddress: served?.address, stop: () => runtime.stop() };
  } catch (error) {
    await runtime.stop();
    throw error;
  }
}
