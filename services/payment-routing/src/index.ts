/**
 * @tributary/payment-routing: which rail a payment takes and how it gets there — the routing
 * policy (pure domain), the provider adapters, and the service (`startPaymentRoutingService`:
 * policy store, lifecycle, webhooks, guardrail monitor, gRPC PaymentRoutingService).
 */

// The service, for the stack, benchmarks and tests that run it in-process.
export { startPaymentRoutingService } from "./payment-routing-service.js";
export type { PaymentLifecycle, PaymentRoutingServiceConfig, PolicyStoreSettings, RunningPaymentRoutingService } from "./payment-routing-service.js";
export { createProviderAdapters, sandboxProviderSettings } from "./provider-adapters.js";
export type { ProviderAdapterOptions, ProviderSettings } from "./provider-adapters.js";
export { fixedPolicySource } from "./app/policy-source.js";
export type { PolicySource } from "./app/policy-source.js";
export { policyFromJsonText, policyToJsonText } from "./app/policy/policy-json.js";

// Routing policy: rules, staged and guarded roll-outs, health, cost — pure, every decision explained.
export { route } from "./domain/routing/route.js";
export type { CandidateTier, DroppedProvider, RankedCandidate, RouteInput, RoutingDecision } from "./domain/routing/route.js";
export { CHANNELS, isChannel } from "./domain/routing/routing-order.js";
export type { Channel, RoutingOrder } from "./domain/routing/routing-order.js";
export type {
  MerchantPolicy,
  ProviderPolicy,
  RampStep,
  Rollout,
  RolloutPause,
  RoutingPolicy,
  RoutingRule,
  RuleEffect,
} from "./domain/routing/routing-policy.js";
export type { DropReason, DropReasonCode, KeepReason, KeepReasonCode, Reason } from "./domain/routing/routing-reason.js";
export { matches, minuteOfDay } from "./domain/routing/condition.js";
export type { Condition, ConditionContext, TimeWindow } from "./domain/routing/condition.js";
export { BUCKET_COUNT, fnv1a32, rolloutBucket } from "./domain/routing/stable-hash.js";
export { activeStepIndex, admitToRollout, percentToBasisPoints } from "./domain/routing/rollout.js";
export type { RolloutAdmission } from "./domain/routing/rollout.js";
export { evaluateGuardrail, normalCdf } from "./domain/routing/guardrail.js";
export type { ArmStats, GuardrailConfig, GuardrailEvaluation, GuardrailReasonCode } from "./domain/routing/guardrail.js";
export { breakerAt, freshHealth, healthEffectOf, healthKey, healthOf, recordAttempt } from "./domain/routing/health.js";
export type {
  AttemptKind,
  AttemptOutcome,
  BreakerConfig,
  BreakerState,
  HealthBook,
  HealthConfig,
  HealthEffect,
  HealthSample,
  HealthState,
  ProviderHealth,
} from "./domain/routing/health.js";
export { compareExpectedValue, expectedValueOf } from "./domain/routing/expected-value.js";
export type { ExpectedValue } from "./domain/routing/expected-value.js";
export { validatePolicy } from "./domain/routing/validate-policy.js";
export type { FieldViolation, InvalidPolicyError, PolicyReferences } from "./domain/routing/validate-policy.js";
export { decidePolicyChange, evolvePolicy, GUARDRAIL_ACTOR } from "./domain/routing/decide-policy-change.js";
export type {
  PolicyAuditRecord,
  PolicyChangeError,
  PolicyCommand,
  PolicyEvent,
  PolicyVersionConflictError,
  RolloutNotFoundError,
} from "./domain/routing/decide-policy-change.js";
export { exampleMerchantIds, examplePolicy } from "./domain/routing/example-policy.js";
// The cold-path database and the guardrail's arm counter, for operators' tools (the day run's roll-out verdict).
export { createPrismaDatabase } from "./adapters/prisma/prisma-database.js";
export type { PrismaDatabase, PrismaDatabaseOptions } from "./adapters/prisma/prisma-database.js";
export { createPrismaRolloutArmCounter } from "./adapters/prisma/prisma-rollout-arm-counter.js";

// Provider adapters (the ProviderAdapter port, one client + transformers per provider).
export { AlipayAdapter, createAlipayAdapter } from "./adapters/providers/alipay/client.js";
export type { AlipayAdapterConfig } from "./adapters/providers/alipay/client.js";
export { createWechatAdapter, WechatAdapter } from "./adapters/providers/wechat/client.js";
export type { WechatAdapterConfig } from "./adapters/providers/wechat/client.js";
export { createUnionpayAdapter, signUnionpayFields, unionpaySigningString, verifyUnionpayFields } from "./adapters/providers/unionpay/client.js";
export { inMemoryUnionpayOrders } from "./adapters/providers/unionpay/client.js";
export type { UnionpayAdapterConfig, UnionpayOrderMemory, UnionpayOrderRecord } from "./adapters/providers/unionpay/client.js";
export { createJdPayAdapter } from "./adapters/providers/jdpay/client.js";
export type { JdPayAdapterConfig } from "./adapters/providers/jdpay/client.js";
export { createEcnyAdapter } from "./adapters/providers/ecny/client.js";
export type { EcnyAdapterConfig } from "./adapters/providers/ecny/client.js";
