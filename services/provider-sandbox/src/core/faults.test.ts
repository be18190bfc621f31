import { describe, expect, it } from "vitest";
import { decideBuyer, DEFAULT_BUYER } from "./buyer-simulator.js";
import { FaultInjector } from "./faults.js";
import { createPrng } from "./prng.js";

describe("fault injector", () => {
  it("never fires at rate 0, always at rate 1", () => {
    const none = new FaultInjector({}, createPrng(1));
    const all = new FaultInjector({ serverErrorRate: 1, declineRate: 1, lostNotifyRate: 1, duplicateNotifyRate: 1, forgedNotifyRate: 1, outOfOrderNotifyRate: 1, outOfOrderDelayMs: 7 }, createPrng(1));
    for (let i = 0; i < 50; i++) {
      expect(none.apiFault()).toEqual({ kind: "none" });
      expect(none.decline()).toBe(false);
      expect(none.notifyPlan()).toEqual({ lost: false, duplicate: false, duplicateMode: "resigned", duplicateDelayMs: 100, extraDelayMs: 0, forged: false });
      expect(all.apiFault()).toEqual({ kind: "server_error" });
      expect(all.notifyPlan()).toEqual({ lost: true, duplicate: true, duplicateMode: "resigned", duplicateDelayMs: 100, extraDelayMs: 7, forged: true });
    }
  });

  it("makes identical duplicates only when asked, after the configured delay", () => {
    const identical = new FaultInjector({ duplicateNotifyRate: 1, duplicateNotifyMode: "identical", duplicateNotifyDelayMs: 250 }, createPrng(1));
    expect(identical.notifyPlan()).toMatchObject({ duplicate: true, duplicateMode: "identical", duplicateDelayMs: 250 });
  });

  it("draws the same faults for the same seed", () => {
    const draw = (seed: number) => {
      const f = new FaultInjector({ timeoutRate: 0.3, slowRate: 0.3, timeoutMs: 5, slowMs: 6 }, createPrng(seed));
      return Array.from({ length: 40 }, () => f.apiFault().kind);
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).toContain("timeout");
    expect(draw(3)).toContain("slow");
    expect(draw(3)).toContain("none");
  });
});

describe("simulated buyer", () => {
  it("pays, pays late or abandons in about the configured proportions, reproducibly", () => {
    const prng = createPrng(99);
    const decisions = Array.from({ length: 2000 }, () => decideBuyer(DEFAULT_BUYER, prng));
    const paid = decisions.filter((d) => d.kind === "pay" && !d.late).length;
    const late = decisions.filter((d) => d.kind === "pay" && d.late).length;
    expect(paid / 2000).toBeGreaterThan(0.8);
    expect(paid / 2000).toBeLessThan(0.9);
    expect(late).toBeGreaterThan(50);
    expect(late).toBeLessThan(160);
    for (const d of decisions) {
      if (d.kind === "pay" && d.late) expect(d.afterMs).toBeGreaterThanOrEqual(60_000);
      if (d.kind === "pay" && !d.late) expect(d.afterMs).toBeLessThanOrEqual(60_000);
    }
    const again = createPrng(99);
    expect(Array.from({ length: 2000 }, () => decideBuyer(DEFAULT_BUYER, again))).toEqual(decisions);
  });
});
