import { describe, expect, it } from "vitest";
import { Lifecycle } from "./lifecycle.js";

describe("Lifecycle", () => {
  it("stops in reverse start order, each part once, even when one fails or stop is called twice", async () => {
    const stopped: string[] = [];
    const failures: string[] = [];
    const lifecycle = new Lifecycle((name) => failures.push(name));
    lifecycle.add("pool", async () => void stopped.push("pool"));
    lifecycle.add("relay", async () => {
      stopped.push("relay");
      throw new Error("broker gone");
    });
    lifecycle.add("grpc", async () => void stopped.push("grpc"));
    await Promise.all([lifecycle.stop(), lifecycle.stop()]);
    expect(stopped).toEqual(["grpc", "relay", "pool"]);
    expect(failures).toEqual(["relay"]);
    expect(lifecycle.stopping).toBe(true);
  });

  it("refuses a part that starts after stopping began", async () => {
    const lifecycle = new Lifecycle(() => undefined);
    await lifecycle.stop();
    expect(() => lifecycle.add("late consumer", async () => undefined)).toThrow(/after the service began stopping/);
  });
});
