import type { PolicyAuditRecord, PolicyEvent } from "../../domain/routing/decide-policy-change.js";
import type { ArmStats } from "../../domain/routing/guardrail.js";
import type { RoutingPolicy } from "../../domain/routing/routing-policy.js";

/** The guardrail's counts behind a pause, carried into the published RolloutPaused. */
export interface ArmCounts {
  readonly treatment: ArmStats;
  readonly control: ArmStats;
}

/** One stored version of the routing policy: the policy and who wrote it when. */
export interface StoredPolicy {
  readonly policy: RoutingPolicy;
  readonly createdAt: Date;
  readonly createdBy: string;
}

/**
 * The writes of one policy command, all inside one database transaction: the new version, its
 * audit row and the event on the outbox commit together or not at all.
 */
export interface PolicyTransaction {
  /** The current (highest) version as this transaction sees it, or `undefined` before the seed. */
  current(): Promise<StoredPolicy | undefined>;
  /**
   * Inserts a version. `false` when that version number already exists — a concurrent writer got
   * there first (the optimistic lock is the version's primary key); nothing was written then.
   */
  insertVersion(policy: RoutingPolicy, createdAt: Date, createdBy: string): Promise<boolean>;
  /** Writes the audit row of one change (who, when, why, the whole policy before and after). */
  insertAudit(audit: PolicyAuditRecord, rolloutId: string | undefined): Promise<void>;
  /**
   * Appends the event to the outbox, published on `routing.v1` once this transaction commits.
   * `armCounts` are the guardrail's numbers behind a pause, when it was the guardrail's.
   */
  publish(event: PolicyEvent, armCounts: ArmCounts | undefined): Promise<void>;
}

/**
 * Where policy versions and their audit live (`routing_policy_versions`, `routing_audit`: the cold
 * path, through Prisma Client in `adapters/prisma/`).
 */
export interface PolicyRepository {
  /** Runs `work` in one transaction; it commits when `work` resolves and rolls back when it throws. */
  transaction<T>(work: (tx: PolicyTransaction) => Promise<T>): Promise<T>;
  /** The current version outside any transaction. */
  current(): Promise<StoredPolicy | undefined>;
  /**
   * When the roll-out was last un-paused, if ever: the newest audit row whose `before` has it
   * paused and whose `after` has it running — a `resume`, or an operator's change that cleared
   * the pause in the policy JSON.
   */
  lastUnpausedAt(rolloutId: string): Promise<Date | undefined>;
}
