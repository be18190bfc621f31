import { describe, expect, it } from "vitest";
import { examplePolicy } from "../../domain/routing/example-policy.js";
import { createCachedPolicySource } from "./cached-policy-source.js";
import type { StoredPolicy } from "./policy-repository.js";

function stored(version: number): StoredPolicy {
  return { policy: { ...examplePolicy(), version }, createdAt: new Date(0), createdBy: "test" };
}

/** A source over a fake table whose version the test sets, counting loads, on a clock the test moves. */
function setUp(options: { failing?: () => boolean } = {}) {
  const state = { version: 1, loads: 0, now: 0, errors: [] as unknown[] };
  const source = createCachedPolicySource({
    load: async () => {
      state.loads += 1;
      if (options.failing?.() === true) throw new Error("database down");
      return stored(state.version);
    },
    maxAgeMs: 1_000,
    clock: () => state.now,
    onRefreshError: (error) => state.errors.push(error),
  });
  return { state, source };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("the cached policy source", () => {
  it("loads once, then answers from memory until the version is older than maxAgeMs", async () => {
    const { state, source } = setUp();
    expect((await source.current()).version).toBe(1);
    state.version = 2;
    state.now = 999;
    expect((await source.current()).version).toBe(1);
    expect(state.loads).toBe(1);
  });

  it("answers a stale version at once and reloads it in the background, one reload at a time", async () => {
    const { state, source } = setUp();
    await source.current();
    state.version = 2;
    state.now = 1_000;
    const [a, b] = await Promise.all([source.current(), source.current()]);
    expect([a.version, b.version]).toEqual([1, 1]);
    await settle();
    expect(state.loads).toBe(2);
    expect((await source.current()).version).toBe(2);
  });

  it("takes its own committed versions at once and never goes back to an older one", async () => {
    const { state, source } = setUp();
    await source.current();
    source.accept(stored(5));
    expect((await source.current()).version).toBe(5);
    // A reload that raced the commit and read the old row does not undo it.
    expect((await source.refresh()).version).toBe(5);
    expect(state.loads).toBe(2);
  });

  it("keeps serving the cached version when a background reload fails, and says so", async () => {
    let failing = false;
    const { state, source } = setUp({ failing: () => failing });
    await source.current();
    failing = true;
    state.now = 5_000;
    expect((await source.current()).version).toBe(1);
    await settle();
    expect(state.errors).toHaveLength(1);
    expect((await source.current()).version).toBe(1);
  });

  it("answers latest() synchronously once loaded, and throws before", async () => {
    const { source } = setUp();
    expect(() => source.latest()).toThrow("not been loaded");
    await source.current();
    source.accept(stored(3));
    expect(source.latest().version).toBe(3);
  });

  it("fails the first read when nothing is stored", async () => {
    const source = createCachedPolicySource({ load: async () => undefined, maxAgeMs: 1_000 });
    await expect(source.current()).rejects.toThrow("no routing policy is stored");
  });
});
