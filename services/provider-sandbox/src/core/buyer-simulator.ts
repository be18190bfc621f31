import { drawLatencyMs, type LatencyDistribution } from "./latency.js";
import type { Prng } from "./prng.js";

/**
 * How simulated buyers behave after a QR code or prepay id is created. `simulated` buyers pay,
 * pay late or abandon with the given probabilities; `manual` buyers do nothing until a test
 * tells them to through the control API.
 */
export interface BuyerBehaviour {
  readonly mode: "simulated" | "manual";
  /** Probability of paying within `latency`. */
  readonly payProbability: number;
  /** Probability of paying after `lateLatency` (possibly after the order expired). */
  readonly lateProbability: number;
  readonly latency: LatencyDistribution;
  readonly lateLatency: LatencyDistribution;
}

/** The default buyer: 85% pay within seconds, 5% pay late, 10% abandon. */
export const DEFAULT_BUYER: BuyerBehaviour = {
  mode: "simulated",
  payProbability: 0.85,
  lateProbability: 0.05,
  latency: { kind: "exponential", meanMs: 3_000, maxMs: 60_000 },
  lateLatency: { kind: "uniform", minMs: 60_000, maxMs: 300_000 },
};

/** What one buyer will do. */
export type BuyerDecision = { readonly kind: "pay"; readonly afterMs: number; readonly late: boolean } | { readonly kind: "abandon" };

/** Decides what the buyer of one new order does, from the provider's seeded stream. */
export function decideBuyer(behaviour: BuyerBehaviour, prng: Prng): BuyerDecision {
  const roll = prng.next();
  if (roll < behaviour.payProbability) {
    return { kind: "pay", afterMs: drawLatencyMs(behaviour.latency, prng), late: false };
  }
  if (roll < behaviour.payProbability + behaviour.lateProbability) {
    return { kind: "pay", afterMs: drawLatencyMs(behaviour.lateLatency, prng), late: true };
  }
  return { kind: "abandon" };
}

/** Bank / funding source codes a simulated buyer pays with (WeChat `bank_type` style). */
export const BANK_TYPES: readonly string[] = ["OTHERS", "CMB_DEBIT", "ICBC_DEBIT", "CCB_CREDIT", "ABC_DEBIT"];
