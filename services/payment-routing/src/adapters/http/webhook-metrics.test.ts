import { describe, expect, it } from "vitest";
import { WebhookMetrics } from "./webhook-metrics.js";

describe("WebhookMetrics", () => {
  it("counts by provider, outcome and reason, and sums the reasons when none is asked for", () => {
    const metrics = new WebhookMetrics();
    metrics.record({ provider: "unionpay", outcome: "rejected", reason: "bad_signature" });
    metrics.record({ provider: "unionpay", outcome: "rejected", reason: "bad_signature" });
    metrics.record({ provider: "unionpay", outcome: "rejected", reason: "malformed" });
    metrics.record({ provider: "unionpay", outcome: "applied" });
    metrics.record({ provider: "alipay", outcome: "duplicate" });
    expect(metrics.count("unionpay", "rejected", "bad_signature")).toBe(2);
    expect(metrics.count("unionpay", "rejected")).toBe(3);
    expect(metrics.count("unionpay", "applied")).toBe(1);
    expect(metrics.count("alipay", "applied")).toBe(0);
    expect(metrics.count("alipay", "duplicate")).toBe(1);
    expect(metrics.snapshot()).toEqual({
      "alipay/duplicate/": 1,
      "unionpay/applied/": 1,
      "unionpay/rejected/bad_signature": 2,
      "unionpay/rejected/malformed": 1,
    });
  });
});
