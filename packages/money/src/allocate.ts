import type { Money } from "./money.js";

/**
 * Splits an amount by integer weights without creating or losing a minor unit: the parts always
 * sum to the original. Used for splitting a settlement across merchants, a discount across order
 * lines, or a fee across sub-orders.
 *
 * Rule — largest remainder on the absolute value: each part first gets
 * `floor(|amount| × weight / Σweights)`; the few units left over go one each to the parts with the
 * largest remainders, ties to the lower index (so the result is deterministic). A negative amount
 * is split as its absolute value and every part negated, so `allocate(-x)` mirrors `allocate(x)`.
 * A zero weight always gets zero.
 *
 * An empty weight list, a negative weight or weights that are all zero have no meaningful split;
 * they are caller bugs and throw `RangeError`.
 */
export function allocate(amount: Money, weights: readonly bigint[]): Money[] {
  if (weights.length === 0) {
    throw new RangeError("allocate: no weights");
  }
  let totalWeight = 0n;
  for (const weight of weights) {
    if (weight < 0n) {
      throw new RangeError(`allocate: negative weight ${weight}`);
    }
    totalWeight += weight;
  }
  if (totalWeight === 0n) {
    throw new RangeError("allocate: all weights are zero");
  }

  const negative = amount.amountMinor < 0n;
  const magnitude = negative ? -amount.amountMinor : amount.amountMinor;
  const shares = weights.map((weight, index) => ({
    index,
    base: (magnitude * weight) / totalWeight,
    remainder: (magnitude * weight) % totalWeight,
  }));
  let leftover = magnitude;
  for (const share of shares) {
    leftover -= share.base;
  }
  // leftover < number of non-zero remainders, and only non-zero weights have non-zero remainders.
  const byRemainder = [...shares].sort((a, b) =>
    a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1,
  );
  const extra = new Set<number>();
  for (const share of byRemainder) {
    if (leftover === 0n) break;
    extra.add(share.index);
    leftover -= 1n;
  }
  // Each part's magnitude is at most |amount|, so it stays within int64 when negated.
  return shares.map((share) => {
    const partMagnitude = share.base + (extra.has(share.index) ? 1n : 0n);
    return { amountMinor: negative ? -partMagnitude : partMagnitude, currency: amount.currency };
  });
}

/**
 * Splits an amount into `parts` shares that differ by at most one minor unit, the earlier parts
 * getting the extra units (e.g. 1.00 CNY in 3 → 0.34, 0.33, 0.33). `parts` must be a positive
 * integer; anything else throws `RangeError`.
 */
export function allocateEvenly(amount: Money, parts: number): Money[] {
  if (!Number.isSafeInteger(parts) || parts < 1) {
    throw new RangeError(`allocateEvenly: parts must be a positive integer, got ${parts}`);
  }
  return allocate(amount, Array.from({ length: parts }, () => 1n));
}
