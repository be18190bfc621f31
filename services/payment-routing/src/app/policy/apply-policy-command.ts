import { assertNever, err, ok, type Result } from "@tributary/result";
import {
  decidePolicyChange,
  evolvePolicy,
  type PolicyChangeError,
  type PolicyCommand,
  type PolicyEvent,
} from "../../domain/routing/decide-policy-change.js";
import type { RoutingPolicy } from "../../domain/routing/routing-policy.js";
import { validatePolicy, type PolicyReferences } from "../../domain/routing/validate-policy.js";
import type { ArmCounts, PolicyRepository, StoredPolicy } from "./policy-repository.js";

/** What applying a policy command needs. */
export interface PolicyCommandDeps {
  readonly repository: PolicyRepository;
  /** What the policy is validated against (the merchants that exist), read at each command. */
  readonly references: () => PolicyReferences;
  /** Told of every version this process commits, so its cached policy source is fresh at once. */
  readonly onCommitted?: (stored: StoredPolicy) => void;
}

/** The outcome of a command that was not refused: the current version after it, and what happened. */
export interface AppliedPolicyCommand {
  readonly current: StoredPolicy;
  /** Empty when there was nothing to do (a "continue" verdict, a roll-out not paused). */
  readonly events: readonly PolicyEvent[];
}

/** The actor of the version written from the configured seed. */
export const SEED_ACTOR = "system:seed";

/** How often a command without an expected version (pause, resume) is retried after losing a race. */
const RACE_RETRIES = 5;

/** Thrown inside the transaction to roll it back when another writer took the next version. */
class VersionTaken extends Error {
  override readonly name = "VersionTaken";
}

function rolloutIdOf(event: PolicyEvent): string | undefined {
  switch (event.type) {
    case "policy_changed":
      return undefined;
    case "rollout_paused":
    case "rollout_resumed":
      return event.rolloutId;
    default:
      return assertNever(event, "policy event");
  }
}

type Attempt = { readonly kind: "done"; readonly applied: AppliedPolicyCommand } | { readonly kind: "refused"; readonly error: PolicyChangeError };

/**
 * Applies one policy command (an operator's change or resume, the guardrail's pause): load the
 * current version → {@link decidePolicyChange} → in the same transaction the next version, its
 * audit row and its event on the outbox. Optimistic: two writers that read the same version race
 * for the next version number (its primary key); the loser's transaction rolls back. An
 * operator's change was made against `expectedVersion`, so losing is `policy_version_conflict`;
 * a pause or resume is decided again on the newer version (which may make it a no-op: already
 * paused). Refusals (invalid policy, conflict, unknown roll-out) change nothing. `armCounts`
 * (the guardrail's, for a pause) go into the published event.
 */
export async function applyPolicyCommand(
  deps: PolicyCommandDeps,
  command: PolicyCommand,
  armCounts?: ArmCounts,
): Promise<Result<AppliedPolicyCommand, PolicyChangeError>> {
  for (let attempt = 1; ; attempt += 1) {
    let outcome: Attempt;
    try {
      outcome = await deps.repository.transaction(async (tx): Promise<Attempt> => {
        const current = await tx.current();
        if (current === undefined) throw new Error("payment-routing: no routing policy is stored (the seed runs at start-up)");
        const decided = decidePolicyChange(current.policy, command, deps.references());
        if (!decided.ok) return { kind: "refused", error: decided.error };
        let latest = current;
        for (const event of decided.value) {
          const policy = evolvePolicy(latest.policy, event);
          if (!(await tx.insertVersion(policy, event.audit.at, event.audit.actor))) throw new VersionTaken();
          await tx.insertAudit(event.audit, rolloutIdOf(event));
          await tx.publish(event, armCounts);
          latest = { policy, createdAt: event.audit.at, createdBy: event.audit.actor };
        }
        return { kind: "done", applied: { current: latest, events: decided.value } };
      });
    } catch (error) {
      if (!(error instanceof VersionTaken)) throw error;
      if (command.type === "change_policy") {
        const now = await deps.repository.current();
        const currentVersion = now?.policy.version ?? command.expectedVersion + 1;
        return err({
          code: "policy_version_conflict",
          message: `another change committed v${currentVersion} while this one was made against v${command.expectedVersion}`,
          currentVersion,
        });
      }
      if (attempt >= RACE_RETRIES) throw new Error(`payment-routing: ${command.type} lost the race for the next policy version ${attempt} times`, { cause: error });
      continue;
    }
    if (outcome.kind === "refused") return err(outcome.error);
    if (outcome.applied.events.length > 0) deps.onCommitted?.(outcome.applied.current);
    return ok(outcome.applied);
  }
}

/**
 * Makes sure a policy is stored: when `routing_policy_versions` is empty, writes `seed` as
 * version 1 (actor {@link SEED_ACTOR}); otherwise leaves the table alone, whatever the seed says —
 * a changed seed never overrides what operators did since. Safe to run at every start and from
 * several instances at once (the loser of the race reads the winner's version). A seed that fails
 * validation is a configuration error and throws.
 */
export async function seedRoutingPolicy(deps: PolicyCommandDeps, seed: RoutingPolicy, at: Date): Promise<StoredPolicy> {
  const validated = validatePolicy({ ...seed, version: 1 }, deps.references());
  if (!validated.ok) {
    const list = validated.error.fieldViolations.map((v) => `${v.field}: ${v.description}`).join("; ");
    throw new Error(`payment-routing: the seed routing policy is invalid: ${list}`);
  }
  const stored = await deps.repository.transaction(async (tx) => {
    const current = await tx.current();
    if (current !== undefined) return current;
    const inserted = await tx.insertVersion(validated.value, at, SEED_ACTOR);
    return inserted ? { policy: validated.value, createdAt: at, createdBy: SEED_ACTOR } : undefined;
  });
  if (stored !== undefined) return stored;
  const winner = await deps.repository.current();
  if (winner === undefined) throw new Error("payment-routing: the seed lost a race, yet no policy is stored");
  return winner;
}
