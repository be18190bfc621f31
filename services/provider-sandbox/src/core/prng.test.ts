import { describe, expect, it } from "vitest";
import { createPrng } from "./prng.js";

describe("seeded PRNG", () => {
  it("replays the same sequence for the same seed and differs across seeds and forks", () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const seqA = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(seqA);
    const c = createPrng(43);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(seqA);
    expect(createPrng(42).fork("wechat").next()).not.toBe(createPrng(42).fork("alipay").next());
    expect(seqA.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
