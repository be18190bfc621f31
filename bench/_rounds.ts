/**
 * Rounds and their statistics, shared by every benchmark. A round lasts several seconds (sized
 * from a warm-up rate to BENCH_ROUND_SECONDS, 5 unless told), baseline and subject rounds
 * alternate, and each bench reports per side the per-round rates, their median and their spread:
 * min–max and (max − min) / median. Rounds "agree" when that spread is at most 15 %.
 */

import { createHash } from "node:crypto";

/**
 * How long one round should last, in seconds, at the rate the warm-up measured: BENCH_ROUND_SECONDS
 * when set, else `defaultSeconds` (a bench whose rounds did not agree at 5 s asks for more).
 */
export function roundSecondsOr(defaultSeconds: number): number {
  const told = process.env["BENCH_ROUND_SECONDS"];
  return told === undefined ? defaultSeconds : Number.parseFloat(told);
}

/** The round length of most benches: BENCH_ROUND_SECONDS, 5 unless told. */
export const roundSeconds = roundSecondsOr(5);

/** Alternating rounds per side; 5 unless told. */
export const roundCount = Number.parseInt(process.env["BENCH_ROUNDS"] ?? "5", 10);

/** The widest spread, as a percentage of the median, at which rounds still agree. */
export const agreementPct = 15;

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Rounds of one quantity: the values, their median, and how far apart they are. */
export interface Spread {
  readonly rounds: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max − min) / median, in percent. */
  readonly spreadPct: number;
  /** Whether `spreadPct` is at most {@link agreementPct}. */
  readonly agreed: boolean;
}

/** The spread of a non-empty list of per-round values, rounded to `digits` for the report. */
export function spreadOf(values: readonly number[], digits = 0): Spread {
  const m = median(values);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const spreadPct = m === 0 ? Number.POSITIVE_INFINITY : ((max - min) / m) * 100;
  const round = (x: number) => Number(x.toFixed(digits));
  return {
    rounds: values.map(round),
    median: round(m),
    min: round(min),
    max: round(max),
    spreadPct: Number(spreadPct.toFixed(1)),
    agreed: spreadPct <= agreementPct,
  };
}

/** How many operations make a round of `seconds` ({@link roundSeconds} unless told) at `perSecond`, within [min, max]. */
export function sizeRound(perSecond: number, min: number, max: number, seconds = roundSeconds): number {
  return Math.max(min, Math.min(max, Math.ceil(perSecond * seconds)));
}

/** One line of the report: `label: median X unit (min–max, spread S % — agree|DO NOT agree within 15 %)`. */
export function describeSpread(label: string, spread: Spread, unit: string): string {
  const verdict = spread.agreed ? "agree" : "do NOT agree";
  return (
    `${label}: median ${spread.median} ${unit} (rounds ${spread.rounds.join(", ")}; ` +
    `${spread.min}–${spread.max}, spread ${spread.spreadPct} % — ${verdict} within ${agreementPct} %)`
  );
}

/** Prints a line of the report on stderr (stdout carries only the final JSON line). */
export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Per-round ratios subject/baseline, paired by round (each pair ran under the same machine load). */
export function pairedRatios(subject: readonly number[], baseline: readonly number[]): number[] {
  return subject.map((s, i) => s / (baseline[i] ?? Number.NaN));
}

/**
 * This host's single-thread speed right now: SHA-256 of 1 KiB for `ms` milliseconds, in hashes per
 * second. Benches take one reading per round and report their spread beside the rounds': alone on
 * the 2-core machine (2026-12-02) this loop ran 292k–427k hashes/s in twelve 5-s windows (35 %
 * spread), so one side's rounds can differ by more than 15 % on work that did not change, while
 * the paired per-round ratio cancels most of it.
 */
export function hostSpeedProbe(ms = 250): number {
  const block = Buffer.alloc(1024, 7);
  const end = performance.now() + ms;
  let hashes = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i += 1) createHash("sha256").update(block).digest();
    hashes += 100;
  }
  return Math.round((hashes * 1000) / ms);
}
