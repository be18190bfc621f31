import type { ArmCounts } from "../../app/policy/policy-repository.js";
import type { RolloutArmCounter } from "../../app/policy/guardrail-monitor.js";
import type { PrismaDatabase } from "./prisma-database.js";

/**
 * The provider-call error codes that are the rail's fault, as the lifecycle writes them at the
 * start of `payments.failure_reason` ("<code>: …", "integrity_mismatch on <field>: …",
 * "unknown_provider_status <status>: …"): no answer or a 5xx (`outcome_unknown`), no connection
 * (`unreachable`), an answer we cannot trust. A refusal (`rejected …`, the buyer's decline or our
 * bad request), `not_found` and any other reason (the buyer gave up, closed on timeout) say nothing
 * about the rail and are not counted — the same split as health's `healthEffectOf`.
 */
export const PROVIDER_SIDE_FAILURE_CODES = [
  "outcome_unknown",
  "unreachable",
  "bad_response_signature",
  "integrity_mismatch",
  "unknown_provider_status",
] as const;

/**
 * Whether a `failure_reason` counts against the rail: its leading code (the SQL below reads it
 * with the same pattern, `^[a-z_]+`) is one of {@link PROVIDER_SIDE_FAILURE_CODES}.
 */
export function isProviderSideFailureReason(reason: string): boolean {
  const code = /^[a-z_]+/.exec(reason)?.[0];
  return code !== undefined && (PROVIDER_SIDE_FAILURE_CODES as readonly string[]).includes(code);
}

interface ArmRow {
  readonly arm: string;
  readonly attempts: number;
  readonly successes: number;
}

/**
 * Counts a roll-out's arms over `payments` with one SQL statement (the rollout_id / created_at
 * index): per `rollout_arm`, attempts are captured payments plus payments failed for a
 * provider-side reason, successes the captured ones. Payments still creating, pending or in
 * review have no outcome yet and are left out.
 */
export function createPrismaRolloutArmCounter(database: PrismaDatabase): RolloutArmCounter {
  return {
    async count(rolloutId, since, until): Promise<ArmCounts> {
      const codes = [...PROVIDER_SIDE_FAILURE_CODES];
      const rows = await database.prisma.$queryRaw<ArmRow[]>`
        SELECT rollout_arm AS arm,
               (count(*) FILTER (WHERE status = 'captured'
                   OR (status = 'failed' AND substring(failure_reason FROM '^[a-z_]+') = ANY(${codes}::text[]))))::int AS attempts,
               (count(*) FILTER (WHERE status = 'captured'))::int AS successes
        FROM payments
        WHERE rollout_id = ${rolloutId} AND created_at >= ${since} AND created_at < ${until}
          AND rollout_arm IN ('treatment', 'control')
        GROUP BY rollout_arm`;
      const arm = (name: string) => {
        const row = rows.find((r) => r.arm === name);
        return { attempts: row?.attempts ?? 0, successes: row?.successes ?? 0 };
      };
      return { treatment: arm("treatment"), control: arm("control") };
    },
  };
}
