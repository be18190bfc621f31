import { describe, expect, it } from "vitest";
import { evaluateGuardrail, normalCdf, type ArmStats, type GuardrailConfig } from "./guardrail.js";

/** mulberry32: a tiny seeded PRNG, so the simulated arms are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function simulate(successRate: number, attempts: number, random: () => number): ArmStats {
  let successes = 0;
  for (let i = 0; i < attempts; i += 1) if (random() < successRate) successes += 1;
  return { attempts, successes };
}

const config: GuardrailConfig = { thresholdPp: 2, minSamplesPerArm: 1_000, alpha: 0.05 };

describe("normalCdf", () => {
  it("matches the standard normal table", () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(1.644854)).toBeCloseTo(0.95, 5);
    expect(normalCdf(-1.959964)).toBeCloseTo(0.025, 5);
    expect(normalCdf(3)).toBeCloseTo(0.99865, 5);
  });
});

describe("evaluateGuardrail", () => {
  it("pauses when a seeded new rail is markedly worse than the control (90 % vs 96 %)", () => {
    const random = seeded(7);
    const control = simulate(0.96, 5_000, random);
    const treatment = simulate(0.9, 2_000, random);
    const evaluation = evaluateGuardrail(treatment, control, config);
    expect(evaluation.verdict).toBe("pause");
    expect(evaluation.reason.code).toBe("regression_significant");
    expect(evaluation.z).toBeGreaterThan(1.645);
    expect(evaluation.pValue).toBeLessThan(0.05);
  });

  it("continues when a seeded new rail is as good as the control, over many seeds", () => {
    for (let seed = 1; seed <= 50; seed += 1) {
      const random = seeded(seed);
      const evaluation = evaluateGuardrail(simulate(0.95, 2_000, random), simulate(0.95, 5_000, random), config);
      expect(evaluation.verdict, `seed ${seed}`).toBe("continue");
    }
  });

  it("continues when the regression is within the threshold, even with huge samples", () => {
    const evaluation = evaluateGuardrail({ attempts: 1_000_000, successes: 940_000 }, { attempts: 1_000_000, successes: 950_000 }, config);
    expect(evaluation).toMatchObject({ verdict: "continue", reason: { code: "regression_within_threshold" } });
  });

  it("continues when the regression exceeds the threshold without significance", () => {
    // 3 pp worse on 1,000 attempts each: SE ≈ 0.85 pp, z ≈ 1.2 < 1.645.
    const evaluation = evaluateGuardrail({ attempts: 1_000, successes: 920 }, { attempts: 1_000, successes: 950 }, config);
    expect(evaluation).toMatchObject({ verdict: "continue", reason: { code: "regression_not_significant" } });
    expect(evaluation.pValue).toBeGreaterThan(0.05);
  });

  it("says nothing before both arms have the minimum sample, however bad it looks", () => {
    expect(evaluateGuardrail({ attempts: 999, successes: 0 }, { attempts: 10_000, successes: 9_900 }, config)).toMatchObject({
      verdict: "continue",
      reason: { code: "insufficient_samples" },
    });
    expect(evaluateGuardrail({ attempts: 10_000, successes: 0 }, { attempts: 999, successes: 990 }, config).verdict).toBe("continue");
  });

  it("decides on the gap alone when neither arm varies", () => {
    expect(evaluateGuardrail({ attempts: 1_000, successes: 0 }, { attempts: 1_000, successes: 1_000 }, config).verdict).toBe("pause");
    expect(evaluateGuardrail({ attempts: 1_000, successes: 1_000 }, { attempts: 1_000, successes: 1_000 }, config).verdict).toBe("continue");
  });

  it("pauses at 0 pp threshold on any significant regression, and never for a better rail", () => {
    const strict = { ...config, thresholdPp: 0 };
    expect(evaluateGuardrail({ attempts: 20_000, successes: 18_800 }, { attempts: 20_000, successes: 19_000 }, strict).verdict).toBe("pause");
    expect(evaluateGuardrail({ attempts: 20_000, successes: 19_900 }, { attempts: 20_000, successes: 19_000 }, strict).verdict).toBe("continue");
  });
});
