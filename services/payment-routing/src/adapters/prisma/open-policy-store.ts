import { seedRoutingPolicy, type PolicyCommandDeps } from "../../app/policy/apply-policy-command.js";
import { createCachedPolicySource, type CachedPolicySource } from "../../app/policy/cached-policy-source.js";
import type { GuardrailMonitorDeps, RolloutArmCounter } from "../../app/policy/guardrail-monitor.js";
import type { PolicyRepository } from "../../app/policy/policy-repository.js";
import type { RoutingPolicy } from "../../domain/routing/routing-policy.js";
import type { PolicyReferences } from "../../domain/routing/validate-policy.js";
import { createPrismaDatabase, type PrismaDatabase } from "./prisma-database.js";
import { createPrismaPaymentReader, type PaymentReader } from "./prisma-payment-reader.js";
import { createPrismaPolicyRepository } from "./prisma-policy-repository.js";
import { createPrismaRolloutArmCounter } from "./prisma-rollout-arm-counter.js";

/** Options of {@link openPolicyStore}. */
export interface PolicyStoreOptions {
  /** Payment-routing's own database. */
  readonly databaseUrl: string;
  /** The outbox producer name: the service's name. */
  readonly producerName: string;
  /** Written as version 1 when no policy is stored yet (never over an existing one). */
  readonly seed: RoutingPolicy;
  /** What policies are validated against (the merchants that exist). */
  readonly references: () => PolicyReferences;
  readonly clock: () => Date;
  /** How stale the cached policy may get before a read reloads it in the background. Default 1 s. */
  readonly refreshMs?: number;
  /** Connections of the cold-path pool. Default 3. */
  readonly poolSize?: number;
  /** Told of background failures (a reload, an idle connection); the service keeps running. */
  readonly onError?: (error: unknown, what: string) => void;
}

/**
 * Everything the routing policy's cold path gives the rest of the service, over one Prisma
 * Client: the policy source routing reads, the command deps the gRPC policy methods write with,
 * the guardrail monitor's deps, and the payment reads of the admin API.
 */
export interface PolicyStore {
  readonly database: PrismaDatabase;
  readonly repository: PolicyRepository;
  /** The cached current policy: the lifecycle's and the previews' {@link PolicySource}. */
  readonly source: CachedPolicySource;
  /** For `applyPolicyCommand` (UpdateRoutingPolicy, ResumeRollout); refreshes `source` on commit. */
  readonly commands: PolicyCommandDeps;
  /** For `startGuardrailMonitor`. */
  readonly guardrail: GuardrailMonitorDeps;
  readonly counter: RolloutArmCounter;
  readonly payments: PaymentReader;
  /** Closes the Prisma Client and its pool. */
  stop(): Promise<void>;
}

/**
 * Opens the policy store: Prisma Client on its own small pool, the seed written if the table is
 * empty (idempotent, safe from several instances at once), and the cached source loaded, so the
 * first payment does not wait for the database. Throws when the database is unreachable or the
 * seed is invalid — start-up errors.
 */
export async function openPolicyStore(options: PolicyStoreOptions): Promise<PolicyStore> {
  const database = createPrismaDatabase({
    databaseUrl: options.databaseUrl,
    ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
    onPoolError: (error) => options.onError?.(error, "an idle policy-store connection failed"),
  });
  try {
    const repository = createPrismaPolicyRepository(database, options.producerName);
    const source = createCachedPolicySource({
      load: () => repository.current(),
      maxAgeMs: options.refreshMs ?? 1_000,
      onRefreshError: (error) => options.onError?.(error, "reloading the routing policy failed; the cached version is served"),
    });
    const commands: PolicyCommandDeps = { repository, references: options.references, onCommitted: (stored) => source.accept(stored) };
    source.accept(await seedRoutingPolicy(commands, options.seed, options.clock()));
    const counter = createPrismaRolloutArmCounter(database);
    return {
      database,
      repository,
      source,
      commands,
      guardrail: { ...commands, counter, clock: options.clock },
      counter,
      payments: createPrismaPaymentReader(database),
      stop: () => database.close(),
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
