/**
 * A seeded pseudo-random source (xoshiro128** seeded through splitmix32). Everything random in
 * the sandbox — buyer behaviour, faults, ids — draws from one of these, so a run with the same
 * seed and the same requests makes the same choices. Probabilities are floats; money never is.
 */
export interface Prng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, bound). */
  int(bound: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** `length` decimal digits, as text (ids, card numbers). */
  digits(length: number): string;
  /** `length` lowercase hex characters. */
  hex(length: number): string;
  /** An independent stream named `label`, so one provider's draws never shift another's. */
  fork(label: string): Prng;
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashLabel(text: string): number {
  // FNV-1a, enough to spread labels across seeds.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Creates a {@link Prng} from a numeric or text seed. */
export function createPrng(seed: number | string): Prng {
  const seedNumber = typeof seed === "number" ? seed >>> 0 : hashLabel(seed);
  const init = splitmix32(seedNumber);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  const prng: Prng = {
    next: () => nextU32() / 0x1_0000_0000,
    int: (bound) => Math.floor(prng.next() * bound),
    chance: (p) => p > 0 && prng.next() < p,
    digits: (length) => {
      let out = "";
      for (let i = 0; i < length; i++) out += String(prng.int(10));
      return out;
    },
    hex: (length) => {
      let out = "";
      for (let i = 0; i < length; i++) out += prng.int(16).toString(16);
      return out;
    },
    fork: (label) => createPrng((seedNumber ^ hashLabel(label)) >>> 0),
  };
  return prng;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
