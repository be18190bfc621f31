import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { providerIdToProto, type routingTopic } from "@tributary/contracts";
import {
  RolloutPausedSchema,
  RolloutResumedSchema,
  RoutingPolicyChangedSchema,
} from "@tributary/contracts/payment/v1/routing_events";
import type { OutboxEvent } from "@tributary/events";
import { assertNever } from "@tributary/result";
import type { PolicyEvent } from "../../domain/routing/decide-policy-change.js";
import type { ArmCounts } from "../../app/policy/policy-repository.js";
import { policyToJsonText } from "../../app/policy/policy-json.js";

/**
 * The Kafka key of every `routing.v1` event: one key, one partition, so consumers see policy
 * versions in the order they were committed.
 */
export const ROUTING_POLICY_KEY = "routing-policy";

/** The `routing.v1` event a policy event is published as. */
export function routingEventOf(event: PolicyEvent, armCounts: ArmCounts | undefined): OutboxEvent<typeof routingTopic> {
  const { audit } = event;
  const common = { key: ROUTING_POLICY_KEY, occurredAt: audit.at };
  switch (event.type) {
    case "policy_changed":
      return {
        ...common,
        schema: RoutingPolicyChangedSchema,
        message: create(RoutingPolicyChangedSchema, {
          fromVersion: audit.versionBefore,
          toVersion: audit.versionAfter,
          actor: audit.actor,
          reason: audit.reason,
          changedAt: timestampFromDate(audit.at),
          policyJson: policyToJsonText(audit.after),
        }),
      };
    case "rollout_paused": {
      const rollout = audit.after.rollouts.find((r) => r.rolloutId === event.rolloutId);
      if (rollout === undefined) throw new Error(`payment-routing: paused roll-out ${event.rolloutId} is not in v${audit.versionAfter}`);
      const e = event.evaluation;
      return {
        ...common,
        schema: RolloutPausedSchema,
        message: create(RolloutPausedSchema, {
          rolloutId: event.rolloutId,
          provider: providerIdToProto(rollout.provider),
          fromVersion: audit.versionBefore,
          toVersion: audit.versionAfter,
          heldStepIndex: event.heldStepIndex,
          actor: audit.actor,
          reason: audit.reason,
          pausedAt: timestampFromDate(audit.at),
          verdict: {
            treatmentAttempts: BigInt(armCounts?.treatment.attempts ?? 0),
            treatmentSuccesses: BigInt(armCounts?.treatment.successes ?? 0),
            controlAttempts: BigInt(armCounts?.control.attempts ?? 0),
            controlSuccesses: BigInt(armCounts?.control.successes ?? 0),
            treatmentRate: e.treatmentRate,
            controlRate: e.controlRate,
            // JSON and proto3 double both carry ±Infinity; a zero-spread verdict has one.
            z: e.z,
            pValue: e.pValue,
            reasonCode: e.reason.code,
            reasonText: e.reason.text,
          },
        }),
      };
    }
    case "rollout_resumed": {
      const rollout = audit.after.rollouts.find((r) => r.rolloutId === event.rolloutId);
      if (rollout === undefined) throw new Error(`payment-routing: resumed roll-out ${event.rolloutId} is not in v${audit.versionAfter}`);
      return {
        ...common,
        schema: RolloutResumedSchema,
        message: create(RolloutResumedSchema, {
          rolloutId: event.rolloutId,
          provider: providerIdToProto(rollout.provider),
          fromVersion: audit.versionBefore,
          toVersion: audit.versionAfter,
          actor: audit.actor,
          reason: audit.reason,
          resumedAt: timestampFromDate(audit.at),
        }),
      };
    }
    default:
      return assertNever(event, "policy event");
  }
}
