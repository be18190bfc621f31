/**
 * Stable hashing for staged roll-outs: the same buyer lands in the same bucket on every server,
 * in every release, for as long as the roll-out's salt stays the same.
 *
 * Why FNV-1a (32-bit) and not `node:crypto`: the domain imports nothing from Node (lint enforces
 * it), the hash needs no secrecy — only a stable, well-spread value — and FNV-1a is a published
 * algorithm (Fowler/Noll/Vo, offset basis 2166136261, prime 16777619) that any other language can
 * reproduce byte for byte, so an analytics job can recompute who was in a roll-out. It runs over
 * the UTF-8 bytes, not UTF-16 code units, so a buyer id with Chinese characters hashes the same as
 * in Go or Java. The bytes are produced inline, exactly as `TextEncoder` would (a lone surrogate
 * becomes U+FFFD; the test checks the two agree), because allocating an array per hash was a
 * tenth of a routing decision's time. A final avalanche step (murmur3's fmix32) spreads FNV's weak
 * low bits before the `mod 10_000`.
 */

const FNV_PRIME = 0x01000193;

function fold(hash: number, byte: number): number {
  return Math.imul(hash ^ byte, FNV_PRIME);
}

/** Buckets per roll-out: one bucket is 0.01 % of buyers, the resolution of a ramp's `percent`. */
export const BUCKET_COUNT = 10_000;

/** FNV-1a over the UTF-8 bytes of `text`, as an unsigned 32-bit integer. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      hash = fold(hash, code);
      continue;
    }
    if (code < 0x800) {
      hash = fold(fold(hash, 0xc0 | (code >> 6)), 0x80 | (code & 0x3f));
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const low = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        const point = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i += 1;
        hash = fold(fold(fold(fold(hash, 0xf0 | (point >> 18)), 0x80 | ((point >> 12) & 0x3f)), 0x80 | ((point >> 6) & 0x3f)), 0x80 | (point & 0x3f));
        continue;
      }
      code = 0xfffd; // a lone surrogate, as TextEncoder encodes it
    }
    hash = fold(fold(fold(hash, 0xe0 | (code >> 12)), 0x80 | ((code >> 6) & 0x3f)), 0x80 | (code & 0x3f));
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
