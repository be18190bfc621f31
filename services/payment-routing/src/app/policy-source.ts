import type { RoutingPolicy } from "../domain/routing/routing-policy.js";

/**
 * Where the payment lifecycle reads the routing policy it routes with. The Prisma-backed store
 * (`adapters/prisma/`) implements it over `routing_policy_versions` and refreshes when a change
 * or a guardrail pause commits; tests use {@link fixedPolicySource}.
 */
export interface PolicySource {
  /** The current (highest) version; already validated when it was written. */
  current(): Promise<RoutingPolicy>;
}

/** A policy source that always answers the same policy (tests, the bench). */
export function fixedPolicySource(policy: RoutingPolicy): PolicySource {
  return { current: () => Promise.resolve(policy) };
}
