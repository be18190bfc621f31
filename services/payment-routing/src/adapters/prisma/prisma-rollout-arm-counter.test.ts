import { describe, expect, it } from "vitest";
import type { ProviderCallError } from "../providers/provider-adapter.js";
import { attemptKindOf, describeCallError } from "../../app/lifecycle-rules.js";
import { healthEffectOf } from "../../domain/routing/health.js";
import { isProviderSideFailureReason } from "./prisma-rollout-arm-counter.js";

/** One of every provider-call error the lifecycle can write into `failure_reason`. */
const errors: readonly ProviderCallError[] = [
  { code: "rejected", providerCode: "ACQ.BUYER_BALANCE_NOT_ENOUGH", message: "insufficient balance", buyerSide: true, retryable: false },
  { code: "rejected", providerCode: "INVALID_PARAMETER", message: "bad request", buyerSide: false, retryable: false },
  { code: "outcome_unknown", message: "no answer in time (10000 ms)", retryable: true },
  { code: "outcome_unknown", message: "HTTP 502", retryable: true },
  { code: "unreachable", message: "connect ECONNREFUSED", retryable: true },
  { code: "bad_response_signature", message: "signature does not verify", retryable: false },
  { code: "integrity_mismatch", field: "total_amount", message: "12.80 ≠ 12.00", retryable: false },
  { code: "unknown_provider_status", providerStatus: "WEIRD", message: "not in the table", retryable: false },
  { code: "not_found", message: "no such order", retryable: false },
];

describe("which failure reasons the guardrail counts against a rail", () => {
  it("agrees with health: exactly the errors whose attempt kind is a provider failure", () => {
    for (const error of errors) {
      const reason = describeCallError(error);
      const providerFailure = healthEffectOf(attemptKindOf(error)) === "provider_failure";
      expect({ reason, counted: isProviderSideFailureReason(reason) }).toEqual({ reason, counted: providerFailure });
    }
  });

  it("counts an unknown outcome later found missing (the lifecycle appends to the first reason)", () => {
    expect(isProviderSideFailureReason("outcome_unknown: no answer in time (10000 ms); then not found at wechat_pay")).toBe(true);
  });

  it("does not count a buyer's decline, a close on timeout, or a reason with no code", () => {
    for (const reason of ["declined", "timed_out", "superseded: payment p-1 was captured", "", "Outcome_unknown: shouting"]) {
      expect(isProviderSideFailureReason(reason)).toBe(false);
    }
  });
});
