import type { RoutingOrder } from "./routing-order.js";
import type { Rollout } from "./routing-policy.js";
import { reasonOf, type DropReason, type KeepReason } from "./routing-reason.js";
import { rolloutBucket } from "./stable-hash.js";

/**
 * The index of the ramp step in force at `now`: the last step that has started, or -1 before the
 * first. A paused roll-out holds the step it was paused at, whatever the schedule says.
 */
export function activeStepIndex(rollout: Rollout, now: Date): number {
  if (rollout.pause !== undefined) return rollout.pause.heldStepIndex;
  const at = now.getTime();
  let index = -1;
  for (let i = 0; i < rollout.ramp.length; i += 1) {
    const step = rollout.ramp[i];
    if (step !== undefined && step.startsAt.getTime() <= at) index = i;
  }
  return index;
}

/** A percent with 0.01 % resolution as basis points of the bucket space (10 % → 1_000). */
export function percentToBasisPoints(percent: number): number {
  return Math.round(percent * 100);
}

/** Whether a roll-out admits the order's buyer, and every reason that decided it. */
export interface RolloutAdmission {
  readonly admitted: boolean;
  readonly kept: readonly KeepReason[];
  readonly dropped: readonly DropReason[];
}

/**
 * Applies a roll-out's gates to an order at `now` (see {@link Rollout}); every failing gate is
 * reported, not only the first, so a decision explains all that would have to change.
 */
export function admitToRollout(rollout: Rollout, order: RoutingOrder, now: Date): RolloutAdmission {
  const kept: KeepReason[] = [];
  const dropped: DropReason[] = [];
  const stepIndex = activeStepIndex(rollout, now);
  const step = stepIndex >= 0 ? rollout.ramp[stepIndex] : undefined;
  const held = (): string => (rollout.pause === undefined ? "" : ` (ramp paused by ${rollout.pause.by} at step ${stepIndex})`);

  if (rollout.buyerAllowlist.includes(order.buyerId)) {
    kept.push(reasonOf("rollout_admitted_by_allowlist", () => `buyer ${order.buyerId} is on roll-out ${rollout.rolloutId}'s allowlist`));
  } else if (step === undefined) {
    dropped.push(reasonOf("rollout_not_started", () => `roll-out ${rollout.rolloutId} has no step in force yet`));
  } else {
    const bucket = rolloutBucket(rollout.salt, order.buyerId);
    const shareBasisPoints = percentToBasisPoints(step.percent);
    if (bucket < shareBasisPoints) {
      kept.push(reasonOf("rollout_admitted_by_share", () => `buyer bucket ${bucket} < ${shareBasisPoints} of 10000 (step ${stepIndex}, ${step.percent} %)${held()}`));
    } else {
      dropped.push(reasonOf("rollout_buyer_not_admitted", () => `buyer bucket ${bucket} ≥ ${shareBasisPoints} of 10000 (step ${stepIndex}, ${step.percent} %)${held()}`));
    }
  }

  // Before the first step the pilot merchants are the only ones allowlisted buyers may use it with.
  const merchantScope = step?.merchants ?? "allowlist";
  if (merchantScope === "allowlist" && !rollout.merchantAllowlist.includes(order.merchantId)) {
    dropped.push(reasonOf("rollout_merchant_not_in_pilot", () => `merchant ${order.merchantId} is not a pilot merchant of roll-out ${rollout.rolloutId}`));
  }

  const excluded = order.lineCategories.filter((c) => rollout.excludedCategories.includes(c));
  if (excluded.length > 0) {
    dropped.push(reasonOf("rollout_category_excluded", () => `categories ${excluded.join(", ")} are excluded from roll-out ${rollout.rolloutId}`));
  }
  if (rollout.includedCategories.length > 0) {
    const outside = order.lineCategories.filter((c) => !rollout.includedCategories.includes(c));
    if (outside.length > 0) {
      dropped.push(reasonOf("rollout_category_not_included", () => `categories ${outside.join(", ")} are not among roll-out ${rollout.rolloutId}'s included ones`));
    }
  }
  return { admitted: dropped.length === 0, kept: dropped.length === 0 ? kept : [], dropped };
}
