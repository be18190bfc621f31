import type { Prng } from "./prng.js";

/** How long something takes, drawn from a distribution (milliseconds). */
export type LatencyDistribution =
  | { readonly kind: "fixed"; readonly ms: number }
  | { readonly kind: "uniform"; readonly minMs: number; readonly maxMs: number }
  | { readonly kind: "exponential"; readonly meanMs: number; readonly maxMs?: number };

/** Draws one latency from `distribution` with `prng`. */
export function drawLatencyMs(distribution: LatencyDistribution, prng: Prng): number {
  switch (distribution.kind) {
    case "fixed":
      return distribution.ms;
    case "uniform":
      return distribution.minMs + prng.next() * (distribution.maxMs - distribution.minMs);
    case "exponential": {
      const value = -Math.log(1 - prng.next()) * distribution.meanMs;
      return distribution.maxMs === undefined ? value : Math.min(value, distribution.maxMs);
    }
  }
}
