import { describe, expect, it } from "vitest";
import { groupWrites } from "./group-writes.js";

/** A write whose completion the test controls. */
function controlledWrite() {
  const batches: number[][] = [];
  const pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  const write = (items: readonly number[]) =>
    new Promise<void>((resolve, reject) => {
      batches.push([...items]);
      pending.push({ resolve, reject });
    });
  return { batches, pending, write };
}

describe("groupWrites", () => {
  it("writes the first item at once and everything that arrived meanwhile in the next batch, one batch at a time", async () => {
    const w = controlledWrite();
    const enqueue = groupWrites(w.write);
    const settled: number[] = [];
    const first = enqueue(1).then(() => settled.push(1));
    expect(w.batches).toEqual([[1]]);
    const rest = [2, 3, 4].map((n) => enqueue(n).then(() => settled.push(n)));
    expect(w.batches).toEqual([[1]]); // nothing else starts while the first batch is written
    w.pending[0]!.resolve();
    await first;
    await Promise.resolve();
    expect(w.batches).toEqual([[1], [2, 3, 4]]);
    expect(settled).toEqual([1]); // the second batch has not been written yet
    w.pending[1]!.resolve();
    await Promise.all(rest);
    expect(settled).toEqual([1, 2, 3, 4]);
    // Quiet again: the next item is written at once.
    const last = enqueue(5);
    expect(w.batches).toEqual([[1], [2, 3, 4], [5]]);
    w.pending[2]!.resolve();
    await last;
  });

  it("rejects every item of a failed batch with its error, and later batches still run", async () => {
    const w = controlledWrite();
    const enqueue = groupWrites(w.write);
    const first = enqueue(1);
    const second = enqueue(2);
    const third = enqueue(3);
    w.pending[0]!.reject(new Error("connection lost"));
    await expect(first).rejects.toThrow("connection lost");
    await Promise.resolve();
    expect(w.batches).toEqual([[1], [2, 3]]);
    w.pending[1]!.reject(new Error("deadlock"));
    await expect(second).rejects.toThrow("deadlock");
    await expect(third).rejects.toThrow("deadlock");
    const fourth = enqueue(4);
    expect(w.batches).toEqual([[1], [2, 3], [4]]);
    w.pending[2]!.resolve();
    await expect(fourth).resolves.toBeUndefined();
  });
});
