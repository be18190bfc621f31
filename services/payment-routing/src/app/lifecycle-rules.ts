import { createHash } from "node:crypto";
import type { ProviderId } from "@tributary/contracts";
import { feeFor, money, refundFee, type FeeSchedule, type Money } from "@tributary/money";
import { assertNever } from "@tributary/result";
import type { ProviderCallError } from "../adapters/providers/provider-adapter.js";
import type { AttemptKind } from "../domain/routing/health.js";
import type { RankedCandidate, RoutingDecision } from "../domain/routing/route.js";
import type { RoutingPolicy } from "../domain/routing/routing-policy.js";
import type { PaymentRecord, StoredDecision } from "./ports.js";

/*
 * Pure rules of the payment lifecycle, kept apart from the use cases so they are unit-tested
 * without a database: how a provider call counts for health, what a routing decision is stored as,
 * the rule text PaymentRouted carries, fees, and the refund ref of an unowned capture.
 */

/**
 * How a failed provider call counts for the rail's health. Only provider-side failures count (the
 * breaker must not open because buyers decline): a refusal on the buyer's side is
 * `buyer_declined`, a business refusal of our request `invalid_request` (neither counted); no
 * answer in time is `timed_out`, any other unknown outcome (5xx, reset) `provider_5xx`, no
 * connection or an answer we cannot trust `provider_system_error`.
 */
export function attemptKindOf(error: ProviderCallError): AttemptKind {
  switch (error.code) {
    case "rejected":
      return error.buyerSide ? "buyer_declined" : "invalid_request";
    case "not_found":
      return "invalid_request";
    case "outcome_unknown":
      return error.message.startsWith("no answer in time") ? "timed_out" : "provider_5xx";
    case "unreachable":
    case "bad_response_signature":
    case "integrity_mismatch":
    case "unknown_provider_status":
      return "provider_system_error";
    default:
      return assertNever(error, "provider call error");
  }
}

/** One line for logs and `failure_reason`: the error's code and what it said. */
export function describeCallError(error: ProviderCallError): string {
  switch (error.code) {
    case "rejected":
      return `rejected ${error.providerCode}: ${error.message}`;
    case "integrity_mismatch":
      return `integrity_mismatch on ${error.field}: ${error.message}`;
    case "unknown_provider_status":
      return `unknown_provider_status ${error.providerStatus}: ${error.message}`;
    case "not_found":
    case "outcome_unknown":
    case "unreachable":
    case "bad_response_signature":
      return `${error.code}: ${error.message}`;
    default:
      return assertNever(error, "provider call error");
  }
}

/**
 * The routing decision as stored with a payment (JSON, no bigint): the candidates in order with
 * their reason codes, so a failover takes the next one without routing again, and the dropped
 * rails with theirs, for audit. Candidates without an adapter in this process are moved to the
 * dropped list as `no_adapter`.
 */
export function storedDecisionOf(decision: RoutingDecision, hasAdapter: (provider: ProviderId) => boolean): StoredDecision {
  const usable = decision.candidates.filter((c) => hasAdapter(c.provider));
  const unusable = decision.candidates.filter((c) => !hasAdapter(c.provider));
  return {
    policyVersion: decision.policyVersion,
    candidates: usable.map((c) => ({ provider: c.provider, tier: c.tier, reasons: c.reasons.map((r) => r.code) })),
    dropped: [
      ...decision.dropped.map((d) => ({ provider: d.provider, reasons: d.reasons.map((r) => r.code) })),
      ...unusable.map((c) => ({ provider: c.provider, reasons: ["no_adapter"] })),
    ],
    matchedRuleIds: decision.matchedRuleIds,
    explored: decision.explored,
  };
}

/**
 * The `routing_rule` of PaymentRouted, for audit: what put this rail where it is (its tier, the
 * roll-out of a trial, the rules that matched), and `failover:<n>` for a later attempt.
 */
export function routingRuleOf(
  candidate: StoredDecision["candidates"][number],
  decision: StoredDecision,
  rolloutId: string | undefined,
  attempt: number,
): string {
  const parts: string[] = [];
  switch (candidate.tier) {
    case "trial":
      parts.push(`rollout:${rolloutId ?? "?"}:trial_treatment`);
      break;
    case "preferred":
      parts.push("preferred_by_buyer");
      break;
    case "probe":
      parts.push("half_open_probe");
      break;
    default:
      parts.push("ranked_by_expected_value");
  }
  if (decision.matchedRuleIds.length > 0) parts.push(`rules:${decision.matchedRuleIds.join(",")}`);
  if (candidate.reasons.includes("explored")) parts.push("explored");
  if (attempt > 1) parts.push(`failover:${attempt}`);
  return parts.join(";");
}

/**
 * Which roll-out arm a payment belongs to, for the guardrail's statistics: `treatment` when a
 * trial roll-out's rail was chosen as the trial's treatment; `control` when a trial roll-out
 * exists whose rail this buyer was not admitted to; none otherwise.
 */
export function rolloutArmOf(
  policy: RoutingPolicy,
  decision: StoredDecision,
  candidate: StoredDecision["candidates"][number],
): { readonly rolloutId: string; readonly arm: "treatment" | "control" } | undefined {
  const ownRollout = policy.rollouts.find((r) => r.provider === candidate.provider && r.trial);
  if (ownRollout !== undefined && candidate.tier === "trial") return { rolloutId: ownRollout.rolloutId, arm: "treatment" };
  for (const rollout of policy.rollouts) {
    if (!rollout.trial) continue;
    const dropped = decision.dropped.find((d) => d.provider === rollout.provider);
    if (dropped?.reasons.some((code) => code.startsWith("rollout_")) === true) return { rolloutId: rollout.rolloutId, arm: "control" };
  }
  return undefined;
}

/** The candidate of a live decision that a stored one names (its reasons as codes). */
export function storedCandidate(candidate: RankedCandidate): StoredDecision["candidates"][number] {
  return { provider: candidate.provider, tier: candidate.tier, reasons: candidate.reasons.map((r) => r.code) };
}

/** The fee schedule the policy holds for a provider in a currency, or undefined when it holds none. */
export function feeScheduleOf(policy: RoutingPolicy, provider: ProviderId, currency: Money["currency"]): FeeSchedule | undefined {
  return policy.providers.find((p) => p.provider === provider)?.fees.find((f) => f.currency === currency)?.schedule;
}

/** The provider's fee on a captured amount, as the provider rounds it; zero when the policy has no schedule. */
export function captureFee(schedule: FeeSchedule | undefined, amount: Money): Money {
  return schedule === undefined ? money(0n, amount.currency) : feeFor(amount, schedule);
}

/**
 * The fee the provider gives back with a refund: proportional and cumulative (`refundFee`), so a
 * full refund in any number of parts returns exactly the capture's fee.
 */
export function refundedFee(schedule: FeeSchedule | undefined, captured: Money, refund: Money, refundedBefore: Money): Money {
  if (schedule === undefined) return money(0n, captured.currency);
  return refundFee(captured, feeFor(captured, schedule), refund, schedule.rounding, refundedBefore);
}

/**
 * The refund ref of a capture no order owns. The same function of the payment id as the order
 * service's `captureRefundRef` ("capture-refund:" + payment id), on purpose: when we refund a
 * late or second capture ourselves, the order service's CaptureRefundRequested for the same
 * capture names the same refund, so the buyer is refunded once, and the PaymentRefunded we publish
 * is matched to the capture the order service recorded.
 */
export function unownedCaptureRefundRef(paymentId: string): string {
  return `capture-refund:${paymentId}`;
}

/** The earlier of two instants. */
export function earliest(a: Date, b: Date): Date {
  return a.getTime() <= b.getTime() ? a : b;
}

/** `at` plus `ms`. */
export function after(at: Date, ms: number): Date {
  return new Date(at.getTime() + ms);
}

/**
 * What every new attempt starts with, first or failover: about to be created at the provider
 * (`creating`, due at once), nothing known from the provider yet, nothing refunded, expiring
 * `paymentTimeoutMs` from now.
 */
export function newAttemptState(now: Date, paymentTimeoutMs: number) {
  return {
    status: "creating",
    buyerAction: undefined,
    providerTransactionId: undefined,
    providerStatus: undefined,
    failureReason: undefined,
    refundedMinor: 0n,
    createdAt: now,
    updatedAt: now,
    expiresAt: after(now, paymentTimeoutMs),
    nextCheckAt: now,
    capturedAt: undefined,
  } as const satisfies Partial<PaymentRecord>;
}

/**
 * The refund number a provider is given for one of our refunds (its idempotency key there). Our
 * `refund_ref` comes from upstream (`capture-refund:<payment id>`, a merchant's own reference) and
 * may hold characters or a length some provider refuses — UnionPay takes 8–40 letters and digits,
 * WeChat and JD Pay 1–64 of a small set, none takes `:`. A ref of 8–32 letters and digits is sent
 * as it is; any other becomes `R` + the first 31 hex digits of its SHA-256, the same every time,
 * so a retry names the same refund. Reports name the refund by this number: match them with
 * {@link providerRefundNo} over the payment's refunds.
 */
export function providerRefundNo(refundRef: string): string {
  if (/^[A-Za-z0-9]{8,32}$/.test(refundRef)) return refundRef;
  return `R${createHash("sha256").update(refundRef, "utf8").digest("hex").slice(0, 31)}`;
}
