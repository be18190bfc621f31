import { PaymentRoutingService } from "@tributary/contracts/payment/v1/payment_routing_service";
import { closeClient, createClient } from "@tributary/grpc";
import {
  createPrismaDatabase,
  createPrismaRolloutArmCounter,
  evaluateGuardrail,
  policyFromJsonText,
  policyToJsonText,
  type GuardrailEvaluation,
  type Rollout,
  type RoutingPolicy,
} from "@tributary/payment-routing";

/*
 * The roll-out story a business day tells: at the start of the day an operator switches WeChat
 * Pay on in trial — for a slice of buyers (a stable hash) of the pilot merchant, gift cards
 * excluded — and its ramp runs through the day: 10 % → 50 % → 100 % of the pilot's buyers, then
 * every merchant. The service's guardrail watches each step (WeChat's success rate against
 * the control arm's) and pauses the ramp on a significant regression; the day's summary shows the
 * share each step admitted and the guardrail's verdict over the day.
 */

/** The trial's roll-out id (one per day run, so its arms count only this day's payments). */
export function trialRolloutId(billDate: string): string {
  return `wechat-trial-${billDate}`;
}

/** The ramp's steps: the share of the pilot's buyers, then every merchant. */
const STEPS = [
  { percent: 10, merchants: "allowlist" },
  { percent: 50, merchants: "allowlist" },
  { percent: 100, merchants: "allowlist" },
  { percent: 100, merchants: "all" },
] as const;

/** A ramp step as the day run publishes against it. */
export interface TrialStep {
  readonly index: number;
  readonly startsAt: Date;
  readonly percent: number;
  readonly merchants: "allowlist" | "all";
}

/** The trial as switched on: its roll-out id, steps and the policy version that holds it. */
export interface WechatTrial {
  readonly rolloutId: string;
  readonly steps: readonly TrialStep[];
  readonly policyVersion: number;
  readonly startedAt: Date;
  readonly guardrail: Rollout["guardrail"];
}

/**
 * The trial roll-out: WeChat Pay for buyers of the pilot merchant `m-small-2` (gift cards
 * excluded), ramped every `stepMs` from `startsAt`, guarded at a 5-point regression with 30
 * counted attempts per arm (a day run has hundreds of payments, not the production thousands).
 * The pilot is the small merchant because its other rail, Alipay, has only the QR product here:
 * its app and mini-program buyers outside the slice have no rail until WeChat reaches them, while
 * `m-taobao-1` keeps four other rails until the last step.
 */
export function wechatTrialRollout(billDate: string, startsAt: Date, stepMs: number): Rollout {
  return {
    rolloutId: trialRolloutId(billDate),
    provider: "wechat_pay",
    salt: trialRolloutId(billDate),
    ramp: STEPS.map((step, index) => ({ startsAt: new Date(startsAt.getTime() + index * stepMs), percent: step.percent, merchants: step.merchants })),
    buyerAllowlist: [],
    merchantAllowlist: ["m-small-2"],
    includedCategories: [],
    excludedCategories: ["gift_card"],
    trial: true,
    guardrail: { thresholdPp: 5, minSamplesPerArm: 30, alpha: 0.05 },
    pause: undefined,
  };
}

/**
 * Switches the trial on through payment-routing's API (UpdateRoutingPolicy, audited as the
 * stack's operator): the current policy with its roll-outs replaced by the trial, so no other
 * rail's roll-out muddies the day's arms. Returns the steps to publish the day's orders against.
 */
export async function switchOnWechatTrial(address: string, token: string, billDate: string, stepMs: number, now: Date = new Date()): Promise<WechatTrial> {
  const client = createClient(PaymentRoutingService, address, { bearerToken: token, defaultDeadlineMs: 10_000 });
  try {
    const current = (await client.getRoutingPolicy({})).policy;
    if (current === undefined) throw new Error("payment-routing answered GetRoutingPolicy without a policy");
    const decoded = policyFromJsonText(current.policyJson);
    if (!decoded.ok) throw new Error(`the routing policy does not decode: ${decoded.error.message}`);
    // The first step starts a moment ago, so the first orders already meet it.
    const startsAt = new Date(now.getTime() - 1_000);
    const rollout = wechatTrialRollout(billDate, startsAt, stepMs);
    const next: RoutingPolicy = { ...decoded.value, rollouts: [rollout] };
    const updated = await client.updateRoutingPolicy({
      expectedVersion: current.version,
      policyJson: policyToJsonText(next),
      reason: `day run ${billDate}: WeChat Pay trial for the pilot merchant's buyers (gift cards excluded), ramped 10 → 50 → 100 %, then every merchant`,
    });
    return {
      rolloutId: rollout.rolloutId,
      steps: rollout.ramp.map((step, index) => ({ index, startsAt: step.startsAt, percent: step.percent, merchants: step.merchants })),
      policyVersion: updated.policy?.version ?? current.version + 1,
      startedAt: startsAt,
      guardrail: rollout.guardrail,
    };
  } finally {
    closeClient(client);
  }
}

/** What the trial did over the day. */
export interface TrialOutcome {
  readonly rolloutId: string;
  /** Per ramp step: the orders first routed while it was in force, and how many of them WeChat took in trial. */
  readonly steps: readonly StepRouting[];
  /** The guardrail's test over the whole day's arms, with the service's own counting. */
  readonly guardrail: GuardrailEvaluation;
  readonly treatment: { readonly attempts: number; readonly successes: number };
  readonly control: { readonly attempts: number; readonly successes: number };
}

/** The orders first routed during one ramp step. */
export interface StepRouting {
  readonly step: string;
  readonly routed: number;
  readonly treatment: number;
}

/** Whether a PaymentRouted's routing rule says the trial's treatment arm took it. */
export function isTrialTreatment(rule: string, rolloutId: string): boolean {
  return rule.startsWith(`rollout:${rolloutId}:trial_treatment`);
}

/** The label of a step in the summary. */
export function stepLabel(step: TrialStep): string {
  return `${step.index + 1}: ${step.percent} % of ${step.merchants === "all" ? "every merchant's" : "the pilot's"} buyers`;
}

/**
 * Counts the trial's arms in payment-routing's database with the guardrail monitor's own counter
 * (attempts = captures + provider-side failures) and applies the same two-proportion test the
 * monitor applies per step, over the whole day.
 */
export async function trialOutcome(paymentRoutingDatabaseUrl: string, trial: WechatTrial, steps: readonly StepRouting[], until: Date = new Date()): Promise<TrialOutcome> {
  const database = createPrismaDatabase({ databaseUrl: paymentRoutingDatabaseUrl, poolSize: 1 });
  try {
    const counts = await createPrismaRolloutArmCounter(database).count(trial.rolloutId, trial.startedAt, until);
    return { rolloutId: trial.rolloutId, steps, guardrail: evaluateGuardrail(counts.treatment, counts.control, trial.guardrail), treatment: counts.treatment, control: counts.control };
  } finally {
    await database.close();
  }
}
