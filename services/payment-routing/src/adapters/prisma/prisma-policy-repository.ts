import { routingTopic } from "@tributary/contracts";
import { appendToOutbox } from "@tributary/events";
import { assertNever } from "@tributary/result";
import type { PolicyAuditRecord, PolicyCommand } from "../../domain/routing/decide-policy-change.js";
import type { RoutingPolicy } from "../../domain/routing/routing-policy.js";
import { policyFromJson, policyToJson } from "../../app/policy/policy-json.js";
import type { PolicyRepository, PolicyTransaction, StoredPolicy } from "../../app/policy/policy-repository.js";
import type { Prisma } from "../../gen/prisma/client.js";
import type { PrismaDatabase } from "./prisma-database.js";
import { routingEventOf } from "./routing-event-messages.js";

/** `routing_audit.action`, as the schema documents it. */
export type AuditAction = "change" | "pause_by_guardrail" | "resume";

/** The audit action of a policy command. */
export function auditActionOf(action: PolicyCommand["type"]): AuditAction {
  switch (action) {
    case "change_policy":
      return "change";
    case "pause_rollout_by_guardrail":
      return "pause_by_guardrail";
    case "resume_rollout":
      return "resume";
    default:
      return assertNever(action, "policy command");
  }
}

type Client = Prisma.TransactionClient | PrismaDatabase["prisma"];

function json(policy: RoutingPolicy): Prisma.InputJsonObject {
  return policyToJson(policy);
}

async function readCurrent(client: Client): Promise<StoredPolicy | undefined> {
  const row = await client.routingPolicyVersion.findFirst({ orderBy: { version: "desc" } });
  if (row === null) return undefined;
  const decoded = policyFromJson(row.policy);
  // Every stored version went through the codec and validatePolicy on its way in.
  if (!decoded.ok) throw new Error(`payment-routing: stored routing policy v${row.version} does not decode: ${decoded.error.message}`);
  return { policy: { ...decoded.value, version: row.version }, createdAt: row.createdAt, createdBy: row.createdBy };
}

/**
 * The policy store over Prisma Client: `routing_policy_versions` (one row per version, the highest
 * current, the JSON form of `policy-json.ts`) and `routing_audit`, with the event appended to the
 * outbox through `@tributary/events` on the same connection and transaction. `producer` is the
 * outbox producer name (the service's).
 */
export function createPrismaPolicyRepository(database: PrismaDatabase, producer: string): PolicyRepository {
  return {
    transaction(work) {
      return database.transaction(({ prisma, connection }) => {
        const tx: PolicyTransaction = {
          current: () => readCurrent(prisma),
          async insertVersion(policy, createdAt, createdBy) {
            // ON CONFLICT DO NOTHING: a taken version is a lost race, not an aborted transaction.
            const { count } = await prisma.routingPolicyVersion.createMany({
              data: [{ version: policy.version, policy: json(policy), createdAt, createdBy }],
              skipDuplicates: true,
            });
            return count === 1;
          },
          async insertAudit(audit: PolicyAuditRecord, rolloutId) {
            await prisma.routingAudit.create({
              data: {
                at: audit.at,
                actor: audit.actor,
                action: auditActionOf(audit.action),
                rolloutId: rolloutId ?? null,
                fromVersion: audit.versionBefore,
                toVersion: audit.versionAfter,
                reason: audit.reason,
                before: json(audit.before),
                after: json(audit.after),
              },
            });
          },
          async publish(event, armCounts) {
            await appendToOutbox(connection, producer, routingTopic, [routingEventOf(event, armCounts)]);
          },
        };
        return work(tx);
      });
    },
    current: () => readCurrent(database.prisma),
    async lastUnpausedAt(rolloutId) {
      // The audit keeps whole policies; an un-pausing is a row whose before has the roll-out
      // paused and whose after has it running, whatever the action. The audit is small (one row
      // per change), so reading its JSON is fine on this cold path.
      const [row] = await database.prisma.$queryRaw<{ at: Date | null }[]>`
        SELECT max(a.at) AS at
        FROM routing_audit a
        WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(a.before -> 'rollouts') r
                      WHERE r ->> 'rolloutId' = ${rolloutId} AND jsonb_typeof(r -> 'pause') = 'object')
          AND EXISTS (SELECT 1 FROM jsonb_array_elements(a.after -> 'rollouts') r
                      WHERE r ->> 'rolloutId' = ${rolloutId} AND jsonb_typeof(r -> 'pause') = 'null')`;
      return row?.at ?? undefined;
    },
  };
}
