import type { RoutingPolicy } from "../../domain/routing/routing-policy.js";
import type { PolicySource } from "../policy-source.js";
import type { StoredPolicy } from "./policy-repository.js";

/** A {@link PolicySource} that keeps the current policy in memory. */
export interface CachedPolicySource extends PolicySource {
  /** Takes a version this process just committed, so its next decision already uses it. */
  accept(stored: StoredPolicy): void;
  /** Reloads now and answers the fresh version. */
  refresh(): Promise<RoutingPolicy>;
  /**
   * The cached version without waiting, for what must read the policy synchronously (the health
   * tracker's settings: `createHealthTracker(() => source.latest())`). Throws before the first
   * load; `openPolicyStore` loads before it returns.
   */
  latest(): RoutingPolicy;
}

/** Options of {@link createCachedPolicySource}. */
export interface CachedPolicySourceOptions {
  /** Reads the current version from the database. */
  readonly load: () => Promise<StoredPolicy | undefined>;
  /** How old the cached version may get before a read triggers a reload (another instance's change). */
  readonly maxAgeMs: number;
  readonly clock?: () => number;
  /** Told when a background reload fails; the cached version keeps being served meanwhile. */
  readonly onRefreshError?: (error: unknown) => void;
}

/**
 * The policy source routing reads on every payment: the policy from memory, never a database
 * round trip on the hot path once loaded. A read of a version older than `maxAgeMs` answers it at
 * once and reloads in the background (one reload at a time), so a change committed by another
 * instance takes effect here within about `maxAgeMs` plus one reload; a change committed by this
 * instance takes effect at once ({@link CachedPolicySource.accept}). Only the first read waits for
 * the database. Versions only move forward: a reload that returns an older version than one
 * accepted meanwhile is ignored.
 */
export function createCachedPolicySource(options: CachedPolicySourceOptions): CachedPolicySource {
  const clock = options.clock ?? Date.now;
  let cached: RoutingPolicy | undefined;
  let loadedAt = 0;
  let inFlight: Promise<RoutingPolicy> | undefined;

  const keep = (policy: RoutingPolicy): RoutingPolicy => {
    if (cached === undefined || policy.version >= cached.version) cached = policy;
    loadedAt = clock();
    return cached;
  };
  const reload = (): Promise<RoutingPolicy> => {
    inFlight ??= options
      .load()
      .then((stored) => {
        if (stored === undefined) throw new Error("payment-routing: no routing policy is stored (the seed runs at start-up)");
        return keep(stored.policy);
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  return {
    async current() {
      if (cached === undefined) return reload();
      if (clock() - loadedAt >= options.maxAgeMs && inFlight === undefined) {
        reload().catch((error: unknown) => options.onRefreshError?.(error));
      }
      return cached;
    },
    accept(stored) {
      keep(stored.policy);
    },
    refresh: reload,
    latest() {
      if (cached === undefined) throw new Error("payment-routing: the routing policy has not been loaded yet");
      return cached;
    },
  };
}
