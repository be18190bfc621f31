import { assertNever, err, ok, type Result } from "@tributary/result";
import type { GuardrailEvaluation } from "./guardrail.js";
import { activeStepIndex } from "./rollout.js";
import type { Rollout, RoutingPolicy } from "./routing-policy.js";
import { validatePolicy, type InvalidPolicyError, type PolicyReferences } from "./validate-policy.js";

/** The actor of an automatic pause in the audit trail. */
export const GUARDRAIL_ACTOR = "system:guardrail";

/** A change to the routing policy; the clock and the actor arrive inside the command. */
export type PolicyCommand =
  | {
      readonly type: "change_policy";
      readonly actor: string;
      readonly at: Date;
      readonly reason: string;
      /** The version the operator edited; another change in between is a conflict. */
      readonly expectedVersion: number;
      /** The next policy's content; its `version` is ignored and set to current + 1. */
      readonly next: RoutingPolicy;
    }
  | {
      readonly type: "pause_rollout_by_guardrail";
      readonly at: Date;
      readonly rolloutId: string;
      readonly evaluation: GuardrailEvaluation;
    }
  | {
      readonly type: "resume_rollout";
      readonly actor: string;
      readonly at: Date;
      readonly reason: string;
      readonly rolloutId: string;
    };

/** Who changed what, when, and why: the policy before and after, in full. */
export interface PolicyAuditRecord {
  readonly actor: string;
  readonly at: Date;
  readonly action: PolicyCommand["type"];
  readonly reason: string;
  readonly versionBefore: number;
  readonly versionAfter: number;
  readonly before: RoutingPolicy;
  readonly after: RoutingPolicy;
}

/**
 * What happened to the policy, each event with its audit record (`audit.after` is the new policy).
 * `rollout_paused` is the guardrail's RolloutPaused: persisted with the audit and published.
 */
export type PolicyEvent =
  | { readonly type: "policy_changed"; readonly audit: PolicyAuditRecord }
  | {
      readonly type: "rollout_paused";
      readonly rolloutId: string;
      readonly heldStepIndex: number;
      readonly evaluation: GuardrailEvaluation;
      readonly audit: PolicyAuditRecord;
    }
  | { readonly type: "rollout_resumed"; readonly rolloutId: string; readonly audit: PolicyAuditRecord };

/** The current version is not the one the change was made against. */
export interface PolicyVersionConflictError {
  readonly code: "policy_version_conflict";
  readonly message: string;
  readonly currentVersion: number;
}

/** The command names a roll-out the policy does not have. */
export interface RolloutNotFoundError {
  readonly code: "rollout_not_found";
  readonly message: string;
  readonly rolloutId: string;
}

/** Why a policy command was refused; nothing changed. */
export type PolicyChangeError = InvalidPolicyError | PolicyVersionConflictError | RolloutNotFoundError;

type Decision = Result<readonly PolicyEvent[], PolicyChangeError>;

function withRollout(policy: RoutingPolicy, rolloutId: string, update: (rollout: Rollout) => Rollout): RoutingPolicy {
  return {
    ...policy,
    version: policy.version + 1,
    rollouts: policy.rollouts.map((r) => (r.rolloutId === rolloutId ? update(r) : r)),
  };
}

/**
 * The policy's rules of change, `decide`-style: given the current policy and a command, the
 * events to persist and publish, or why the command is refused. Pure — the actor and the clock
 * come in the command. Every change is validated as a whole policy and audited with the full
 * before and after. An empty list means nothing to do (a "continue" verdict, a roll-out already
 * paused or not paused), so replays change nothing.
 *
 * A pause holds the ramp at the step in force at the pause; a resume returns the roll-out to its
 * schedule at that moment (an operator who wants a slower ramp changes the policy first).
 */
export function decidePolicyChange(current: RoutingPolicy, command: PolicyCommand, refs: PolicyReferences): Decision {
  const audit = (after: RoutingPolicy, actor: string, reason: string, at: Date): PolicyAuditRecord => ({
    actor,
    at,
    action: command.type,
    reason,
    versionBefore: current.version,
    versionAfter: after.version,
    before: current,
    after,
  });
  switch (command.type) {
    case "change_policy": {
      if (command.expectedVersion !== current.version) {
        return err({
          code: "policy_version_conflict",
          message: `the change was made against v${command.expectedVersion}, the policy is at v${current.version}`,
          currentVersion: current.version,
        });
      }
      const validated = validatePolicy({ ...command.next, version: current.version + 1 }, refs);
      if (!validated.ok) return validated;
      return ok([{ type: "policy_changed", audit: audit(validated.value, command.actor, command.reason, command.at) }]);
    }
    case "pause_rollout_by_guardrail": {
      const rollout = current.rollouts.find((r) => r.rolloutId === command.rolloutId);
      if (rollout === undefined) return notFound(command.rolloutId);
      if (command.evaluation.verdict === "continue" || rollout.pause !== undefined) return ok([]);
      const heldStepIndex = activeStepIndex(rollout, command.at);
      const reason = `guardrail: ${command.evaluation.reason.text}`;
      const after = withRollout(current, rollout.rolloutId, (r) => ({
        ...r,
        pause: { pausedAt: command.at, heldStepIndex, reason, by: "guardrail" },
      }));
      const validated = validatePolicy(after, refs);
      if (!validated.ok) return validated;
      return ok([
        {
          type: "rollout_paused",
          rolloutId: rollout.rolloutId,
          heldStepIndex,
          evaluation: command.evaluation,
          audit: audit(validated.value, GUARDRAIL_ACTOR, reason, command.at),
        },
      ]);
    }
    case "resume_rollout": {
      const rollout = current.rollouts.find((r) => r.rolloutId === command.rolloutId);
      if (rollout === undefined) return notFound(command.rolloutId);
      if (rollout.pause === undefined) return ok([]);
      const after = withRollout(current, rollout.rolloutId, (r) => ({ ...r, pause: undefined }));
      const validated = validatePolicy(after, refs);
      if (!validated.ok) return validated;
      return ok([
        { type: "rollout_resumed", rolloutId: rollout.rolloutId, audit: audit(validated.value, command.actor, command.reason, command.at) },
      ]);
    }
    default:
      return assertNever(command, "policy command");
  }
}

function notFound(rolloutId: string): Decision {
  return err({ code: "rollout_not_found", message: `no roll-out ${rolloutId} in the policy`, rolloutId });
}

/** The policy after an event: the audited `after`. */
export function evolvePolicy(_policy: RoutingPolicy, event: PolicyEvent): RoutingPolicy {
  switch (event.type) {
    case "policy_changed":
    case "rollout_paused":
    case "rollout_resumed":
      return event.audit.after;
    default:
      return assertNever(event, "policy event");
  }
}
