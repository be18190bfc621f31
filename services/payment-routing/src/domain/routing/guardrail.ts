import { percentText as percent, roundTo } from "./format.js";

/**
 * The guardrail of a guarded roll-out: at each ramp step, is the new rail's success rate worse than
 * the control's by more than the threshold, with statistical significance? Juspay's A/B test takes
 * the same three knobs (guardrail in percentage points, minimum sample size, a z-test); the
 * decision engine ramps by hand, here a "pause" verdict pauses the ramp by itself
 * ({@link decidePolicyChange} with `pause_rollout_by_guardrail`).
 */

/** The guardrail's knobs, per roll-out. */
export interface GuardrailConfig {
  /** The regression tolerated, in percentage points of success rate (2 → 95 % vs 93 % is fine). */
  readonly thresholdPp: number;
  /** Counted attempts each arm needs before any verdict other than "continue". */
  readonly minSamplesPerArm: number;
  /** One-sided significance level, e.g. 0.05: pause when p < alpha. */
  readonly alpha: number;
}

/** One arm's counted attempts (provider-side outcomes only, as in health) since the step began. */
export interface ArmStats {
  readonly attempts: number;
  readonly successes: number;
}

/** Why the guardrail said what it said. */
export type GuardrailReasonCode =
  | "insufficient_samples"
  | "regression_significant"
  | "regression_within_threshold"
  | "regression_not_significant";

/** The verdict with its numbers, ready to be audited and shown. */
export interface GuardrailEvaluation {
  readonly verdict: "continue" | "pause";
  readonly treatmentRate: number;
  readonly controlRate: number;
  /** (control − treatment − threshold) / SE; positive when the gap exceeds the threshold. */
  readonly z: number;
  /** One-sided p of H0 "the gap is at most the threshold"; 1 before enough samples. */
  readonly pValue: number;
  readonly reason: { readonly code: GuardrailReasonCode; readonly text: string };
}

/**
 * The standard normal CDF, Φ(x), by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): plenty for a
 * significance test at α ≥ 0.001.
 */
export function normalCdf(x: number): number {
  if (x === Number.POSITIVE_INFINITY) return 1;
  if (x === Number.NEGATIVE_INFINITY) return 0;
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * Two-proportion z-test against a margin: H0 "control − treatment ≤ threshold" against H1
 * "control − treatment > threshold", with the unpooled standard error (the pooled one assumes equal
 * rates, which a non-zero margin denies). "pause" only when both arms have `minSamplesPerArm`
 * attempts and p < alpha; an arm at or above the control, or worse by less than the threshold, or
 * worse without significance, continues.
 */
export function evaluateGuardrail(treatment: ArmStats, control: ArmStats, config: GuardrailConfig): GuardrailEvaluation {
  const treatmentRate = treatment.attempts === 0 ? 0 : treatment.successes / treatment.attempts;
  const controlRate = control.attempts === 0 ? 0 : control.successes / control.attempts;
  const rates = `new rail ${percent(treatmentRate)} of ${treatment.attempts}, control ${percent(controlRate)} of ${control.attempts}`;
  if (treatment.attempts < config.minSamplesPerArm || control.attempts < config.minSamplesPerArm) {
    return {
      verdict: "continue",
      treatmentRate,
      controlRate,
      z: 0,
      pValue: 1,
      reason: { code: "insufficient_samples", text: `${rates}; each arm needs ${config.minSamplesPerArm} attempts` },
    };
  }
  const margin = config.thresholdPp / 100;
  const gap = controlRate - treatmentRate;
  const variance =
    (treatmentRate * (1 - treatmentRate)) / treatment.attempts + (controlRate * (1 - controlRate)) / control.attempts;
  const standardError = Math.sqrt(variance);
  // Both arms all-success or all-failure: no spread, the gap itself decides.
  const z =
    standardError === 0
      ? gap > margin
        ? Number.POSITIVE_INFINITY
        : gap < margin
          ? Number.NEGATIVE_INFINITY
          : 0
      : (gap - margin) / standardError;
  const pValue = 1 - normalCdf(z);
  const stats = `${rates}; gap ${roundTo(gap * 100, 2)} pp vs threshold ${config.thresholdPp} pp, z ${roundTo(z, 2)}, p ${roundTo(pValue, 4)}`;
  if (gap <= margin) {
    return { verdict: "continue", treatmentRate, controlRate, z, pValue, reason: { code: "regression_within_threshold", text: stats } };
  }
  if (pValue < config.alpha) {
    return { verdict: "pause", treatmentRate, controlRate, z, pValue, reason: { code: "regression_significant", text: `${stats} < α ${config.alpha}` } };
  }
  return { verdict: "continue", treatmentRate, controlRate, z, pValue, reason: { code: "regression_not_significant", text: `${stats} ≥ α ${config.alpha}` } };
}
