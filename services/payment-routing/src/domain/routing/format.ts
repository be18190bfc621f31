/**
 * Number formatting for explanations (never for money, which @tributary/money formats). Lint bans
 * `toFixed` so that no amount is ever rounded through a float; rates and z-scores are not amounts.
 */
export function roundTo(value: number, digits: number): string {
  if (!Number.isFinite(value)) return String(value);
  const factor = 10 ** digits;
  return String(Math.round(value * factor) / factor);
}

/** A rate in [0, 1] as a percentage with two decimals: 0.9512 → "95.12 %". */
export function percentText(rate: number): string {
  return `${roundTo(rate * 100, 2)} %`;
}
