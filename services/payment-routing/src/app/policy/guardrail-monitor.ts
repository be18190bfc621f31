import type { PolicyChangeError } from "../../domain/routing/decide-policy-change.js";
import { evaluateGuardrail, type GuardrailEvaluation } from "../../domain/routing/guardrail.js";
import { activeStepIndex } from "../../domain/routing/rollout.js";
import { applyPolicyCommand, type PolicyCommandDeps } from "./apply-policy-command.js";
import type { ArmCounts } from "./policy-repository.js";

/**
 * Counts a trial roll-out's two arms from the payments routing made: attempts and successes per
 * arm (`payments.rollout_arm`) created in `[since, until)`, counting only outcomes that say
 * something about the rail — captured, or failed on the provider's side — as health does.
 */
export interface RolloutArmCounter {
  count(rolloutId: string, since: Date, until: Date): Promise<ArmCounts>;
}

/** What the guardrail monitor needs besides the policy store. */
export interface GuardrailMonitorDeps extends PolicyCommandDeps {
  readonly counter: RolloutArmCounter;
  readonly clock: () => Date;
}

/** What one check found for one roll-out, for logs and tests. */
export interface GuardrailCheck {
  readonly rolloutId: string;
  readonly stepIndex: number;
  /** Where counting began: the active step's start, or the last resume (any un-pausing) if that is later. */
  readonly since: Date;
  readonly counts: ArmCounts;
  readonly evaluation: GuardrailEvaluation;
  /** True when this check paused the roll-out (false also when another instance got there first). */
  readonly paused: boolean;
  /** Set when the pause was refused (the paused policy failed validation, the roll-out vanished). */
  readonly refused?: PolicyChangeError;
}

/**
 * One pass of the guarded roll-outs' guardrail: for every roll-out whose ramp is in force and not
 * paused, count both arms since the active step began — or since the roll-out was last resumed
 * (by ResumeRollout or by a change that cleared its pause), so a resumed ramp is judged on what
 * happened after the operator's decision, not re-paused on the data that paused it — and
 * {@link evaluateGuardrail}. A "pause" verdict is applied as the
 * `pause_rollout_by_guardrail` command through the same store as an operator's change: a new
 * version, an audit row by `system:guardrail`, RolloutPaused on `routing.v1`, one transaction.
 */
export async function checkGuardrails(deps: GuardrailMonitorDeps): Promise<readonly GuardrailCheck[]> {
  const now = deps.clock();
  const stored = await deps.repository.current();
  if (stored === undefined) return [];
  const checks: GuardrailCheck[] = [];
  for (const rollout of stored.policy.rollouts) {
    if (rollout.pause !== undefined) continue;
    const stepIndex = activeStepIndex(rollout, now);
    const step = rollout.ramp[stepIndex];
    if (step === undefined) continue;
    const resumedAt = await deps.repository.lastUnpausedAt(rollout.rolloutId);
    const since = resumedAt !== undefined && resumedAt > step.startsAt ? resumedAt : step.startsAt;
    const counts = await deps.counter.count(rollout.rolloutId, since, now);
    const evaluation = evaluateGuardrail(counts.treatment, counts.control, rollout.guardrail);
    if (evaluation.verdict === "continue") {
      checks.push({ rolloutId: rollout.rolloutId, stepIndex, since, counts, evaluation, paused: false });
      continue;
    }
    const applied = await applyPolicyCommand(
      deps,
      { type: "pause_rollout_by_guardrail", at: now, rolloutId: rollout.rolloutId, evaluation },
      counts,
    );
    checks.push(
      applied.ok
        ? { rolloutId: rollout.rolloutId, stepIndex, since, counts, evaluation, paused: applied.value.events.length > 0 }
        : { rolloutId: rollout.rolloutId, stepIndex, since, counts, evaluation, paused: false, refused: applied.error },
    );
  }
  return checks;
}

/** A running guardrail monitor. */
export interface GuardrailMonitor {
  /** Runs one pass now (waiting for a pass in progress first). */
  runOnce(): Promise<readonly GuardrailCheck[]>;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

/** Options of {@link startGuardrailMonitor}. */
export interface GuardrailMonitorOptions {
  readonly deps: GuardrailMonitorDeps;
  /** Time between the end of one pass and the start of the next. */
  readonly intervalMs: number;
  /** Told of every pass (pauses included), for logs. */
  readonly onChecked?: (checks: readonly GuardrailCheck[]) => void;
  /** Told when a pass fails (database down); the next pass runs as usual. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Runs {@link checkGuardrails} every `intervalMs`, one pass at a time. Every instance of the
 * service may run one: two instances pausing the same roll-out race for the next version and
 * the loser finds it already paused, so a pause is written and published once.
 */
export function startGuardrailMonitor(options: GuardrailMonitorOptions): GuardrailMonitor {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<readonly GuardrailCheck[]> | undefined;

  const pass = (): Promise<readonly GuardrailCheck[]> => {
    const previous = running ?? Promise.resolve([]);
    const next = previous
      .catch(() => [])
      .then(() => checkGuardrails(options.deps))
      .then((checks) => {
        options.onChecked?.(checks);
        return checks;
      });
    running = next;
    return next.finally(() => {
      if (running === next) running = undefined;
    });
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      pass()
        .catch((error: unknown) => options.onError?.(error))
        .finally(schedule);
    }, options.intervalMs);
    timer.unref();
  };
  schedule();

  return {
    runOnce: pass,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
