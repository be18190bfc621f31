import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUCKET_COUNT, fnv1a32, rolloutBucket } from "./stable-hash.js";

describe("fnv1a32", () => {
  it("matches the published FNV-1a 32-bit test vectors", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  it("hashes UTF-8 bytes, not UTF-16 code units", () => {
    // "买" is E4 B9 B0 in UTF-8: three bytes folded in order.
    let expected = 0x811c9dc5;
    for (const byte of [0xe4, 0xb9, 0xb0]) {
      expected = Math.imul(expected ^ byte, 0x01000193) >>> 0;
    }
    expect(fnv1a32("买")).toBe(expected);
  });

  it("folds exactly the bytes TextEncoder produces, for any string (surrogates, emoji, lone halves)", () => {
    const reference = (text: string) => {
      let hash = 0x811c9dc5;
      for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193);
      return hash >>> 0;
    };
    for (const text of ["买家-42", "𠀋", "😀x", "\ud800", "a\udc00b", "\u07ff\u0800\uffff"]) expect(fnv1a32(text), text).toBe(reference(text));
    fc.assert(fc.property(fc.string({ unit: "binary" }), (text) => fnv1a32(text) === reference(text)), { numRuns: 2_000 });
  });
});

describe("rolloutBucket", () => {
  it("is stable and in range", () => {
    const bucket = rolloutBucket("ecny-2026", "buyer-42");
    expect(rolloutBucket("ecny-2026", "buyer-42")).toBe(bucket);
    expect(bucket).toBeGreaterThanOrEqual(0);
    expect(bucket).toBeLessThan(BUCKET_COUNT);
  });

  it("spreads sequential buyer ids evenly over the buckets (each tenth within ±1 %)", () => {
    const deciles = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i += 1) {
      const decile = Math.floor(rolloutBucket("salt", `b-${i}`) / 1_000);
      deciles[decile] = (deciles[decile] ?? 0) + 1;
    }
    for (const count of deciles) {
      expect(count).toBeGreaterThan(9_000);
      expect(count).toBeLessThan(11_000);
    }
  });

  it("differs between salts, so roll-outs do not share their first buyers", () => {
    let same = 0;
    for (let i = 0; i < 10_000; i += 1) {
      if (rolloutBucket("rail-a", `b-${i}`) < 1_000 && rolloutBucket("rail-b", `b-${i}`) < 1_000) same += 1;
    }
    // Independent 10 % samples overlap in about 1 % of buyers, not 10 %.
    expect(same).toBeLessThan(200);
  });
});
