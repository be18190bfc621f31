/**
 * Stable hashing for staged roll-outs: the same buyer lands in the same bucket on every server,
 * in every release, for as long as the roll-out's salt stays the same.
 *
 * Why FNV-1a (32-bit) and not `node:crypto`: the domain imports nothing from Node (lint enforces
 * it), the hash needs no secrecy — only a stable, well-spread value — and FNV-1a is a published
 * algorithm (Fowler/Noll/Vo, offset basis 2166136261, prime 16777619) that any other language can
 * reproduce byte for byte, so an analytics job can recompute who was in a roll-out. It runs over
 * the UTF-8 bytes (TextEncoder is a global in Node and browsers), not UTF-16 code units, so a
 * buyer id with Chinese characters hashes the same as in Go or Java. A final avalanche step
 * (murmur3's fmix32) spreads FNV's weak low bits before the `mod 10_000`.
 */

const encoder = new TextEncoder();

/** Buckets per roll-out: one bucket is 0.01 % of buyers, the resolution of a ramp's `percent`. */
export const BUCKET_COUNT = 10_000;

/** FNV-1a over the UTF-8 bytes of `text`, as an unsigned 32-bit integer. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The buyer's bucket in a roll-out, in [0, {@link BUCKET_COUNT}): `fmix32(fnv1a32(salt + ":" +
 * buyerId)) mod 10_000`. A buyer is admitted at a share of `b` basis points exactly when its bucket
 * is below `b`, so raising the share only ever adds buyers (stability as the ramp grows). The salt
 * differs per roll-out, so the first 1 % of one rail is not also the first 1 % of the next.
 */
export function rolloutBucket(salt: string, buyerId: string): number {
  return fmix32(fnv1a32(`${salt}:${buyerId}`)) % BUCKET_COUNT;
}
