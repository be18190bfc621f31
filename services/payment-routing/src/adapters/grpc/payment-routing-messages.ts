import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { channelIdFromProto, channelIdToProto, providerIdFromProto, providerIdToProto, type ProviderId } from "@tributary/contracts";
import type { MoneySchema, Money as ProtoMoney } from "@tributary/contracts/common/v1/money";
import type { Channel as ProtoChannel } from "@tributary/contracts/common/v1/provider";
import { Provider as ProtoProvider } from "@tributary/contracts/common/v1/provider";
import { PaymentStatus as ProtoPaymentStatus, type BuyerActionSchema, type PaymentSchema } from "@tributary/contracts/payment/v1/payment";
import {
  BreakerState as ProtoBreakerState,
  CandidateTier as ProtoCandidateTier,
  type HealthSummarySchema,
  type PreviewRouteResponseSchema,
  type RoutingOrder as ProtoRoutingOrder,
  type RoutingPolicyVersionSchema,
} from "@tributary/contracts/payment/v1/payment_routing_service";
import type { FieldViolation } from "@tributary/grpc";
import { isCurrencyCode, money, type Money } from "@tributary/money";
import { assertNever, err, ok, type Result } from "@tributary/result";
import { policyToJsonText } from "../../app/policy/policy-json.js";
import type { StoredPolicy } from "../../app/policy/policy-repository.js";
import type { BreakerState, ProviderHealth } from "../../domain/routing/health.js";
import type { CandidateTier, RoutingDecision } from "../../domain/routing/route.js";
import type { Channel, RoutingOrder } from "../../domain/routing/routing-order.js";
import type { PaymentRow, PaymentRowStatus } from "../prisma/prisma-payment-reader.js";
import type { BuyerAction } from "../providers/provider-adapter.js";
import type { InvalidRequestError } from "./payment-routing-error-codes.js";

/** The channel of a proto enum value; `undefined` for UNSPECIFIED or a number we do not define. */
export function channelFromProto(channel: ProtoChannel): Channel | undefined {
  // UNSPECIFIED, or a number this contract does not define: the caller reports the field.
  return channelIdFromProto(channel);
}

/** The proto enum value of a channel. */
export function channelToProto(channel: Channel): ProtoChannel {
  return channelIdToProto(channel);
}

/** A domain amount as proto Money. */
export function moneyToProto(amount: Money): MessageInitShape<typeof MoneySchema> {
  return { currency: amount.currency, amountMinor: amount.amountMinor };
}

function invalidRequest(violations: readonly FieldViolation[]): InvalidRequestError {
  const first = violations[0];
  return {
    code: "invalid_request",
    message: `invalid request: ${first?.field ?? ""} ${first?.description ?? ""}`.trim(),
    fieldViolations: violations,
  };
}

function amountFromProto(amount: ProtoMoney | undefined, field: string, violations: FieldViolation[]): Money | undefined {
  if (amount === undefined) {
    violations.push({ field, description: "is required" });
    return undefined;
  }
  if (!isCurrencyCode(amount.currency)) {
    violations.push({ field: `${field}.currency`, description: `${amount.currency || "(empty)"} is not an ISO 4217 currency we support` });
    return undefined;
  }
  if (amount.amountMinor <= 0n) {
    violations.push({ field: `${field}.amount_minor`, description: "must be positive" });
    return undefined;
  }
  return money(amount.amountMinor, amount.currency);
}

/**
 * The order routing decides on, from the request's `order` (field paths under `order.`); every bad
 * field is reported. Country is optional (empty: unknown), so is the preferred provider.
 */
export function routingOrderFromProto(order: ProtoRoutingOrder | undefined): Result<RoutingOrder, InvalidRequestError> {
  if (order === undefined) return err(invalidRequest([{ field: "order", description: "is required" }]));
  const violations: FieldViolation[] = [];
  if (order.merchantId.trim() === "") violations.push({ field: "order.merchant_id", description: "is required" });
  if (order.buyerId.trim() === "") violations.push({ field: "order.buyer_id", description: "is required" });
  const amount = amountFromProto(order.amount, "order.amount", violations);
  const channel = channelFromProto(order.channel);
  if (channel === undefined) violations.push({ field: "order.channel", description: "is required (app, web or mini_program)" });
  if (order.country !== "" && !/^[A-Z]{2}$/.test(order.country)) {
    violations.push({ field: "order.country", description: `${order.country} is not an ISO 3166-1 alpha-2 code` });
  }
  const preferred = order.preferredProvider === ProtoProvider.UNSPECIFIED ? undefined : providerIdFromProto(order.preferredProvider);
  if (order.preferredProvider !== ProtoProvider.UNSPECIFIED && preferred === undefined) {
    violations.push({ field: "order.preferred_provider", description: `${order.preferredProvider} is not a provider` });
  }
  order.lineCategories.forEach((category, i) => {
    if (category.trim() === "") violations.push({ field: `order.line_categories[${i}]`, description: "must not be empty" });
  });
  const buyerAccounts: Partial<Record<ProviderId, string>> = {};
  order.buyerAccounts.forEach((account, i) => {
    const provider = providerIdFromProto(account.provider);
    if (provider === undefined) {
      violations.push({ field: `order.buyer_accounts[${i}].provider`, description: `${account.provider} is not a provider` });
    } else if (buyerAccounts[provider] !== undefined) {
      violations.push({ field: `order.buyer_accounts[${i}].provider`, description: `${provider} is listed twice; give one account per provider` });
    } else if (account.accountId.trim() === "") {
      violations.push({ field: `order.buyer_accounts[${i}].account_id`, description: "is required" });
    } else {
      buyerAccounts[provider] = account.accountId;
    }
  });
  if (violations.length > 0 || amount === undefined || channel === undefined) return err(invalidRequest(violations));
  return ok({
    merchantId: order.merchantId,
    buyerId: order.buyerId,
    amount,
    lineCategories: order.lineCategories,
    channel,
    country: order.country === "" ? undefined : order.country,
    preferredProvider: preferred,
    buyerAccounts,
  });
}

function tierToProto(tier: CandidateTier): ProtoCandidateTier {
  switch (tier) {
    case "preferred":
      return ProtoCandidateTier.PREFERRED;
    case "trial":
      return ProtoCandidateTier.TRIAL;
    case "ranked":
      return ProtoCandidateTier.RANKED;
    case "probe":
      return ProtoCandidateTier.PROBE;
    default:
      return assertNever(tier, "candidate tier");
  }
}

function breakerToProto(state: BreakerState["state"]): ProtoBreakerState {
  switch (state) {
    case "closed":
      return ProtoBreakerState.CLOSED;
    case "open":
      return ProtoBreakerState.OPEN;
    case "half_open":
      return ProtoBreakerState.HALF_OPEN;
    default:
      return assertNever(state, "breaker state");
  }
}

/** A provider's health as the API shows it. */
export function healthToProto(health: ProviderHealth): MessageInitShape<typeof HealthSummarySchema> {
  return { breaker: breakerToProto(health.breaker), attempts: health.attempts, successes: health.successes, successRate: health.successRate };
}

/** A routing decision with every reason, as PreviewRoute answers it. */
export function decisionToProto(decision: RoutingDecision, currency: Money["currency"]): MessageInitShape<typeof PreviewRouteResponseSchema> {
  return {
    policyVersion: decision.policyVersion,
    candidates: decision.candidates.map((c) => ({
      provider: providerIdToProto(c.provider),
      rank: c.rank,
      tier: tierToProto(c.tier),
      health: healthToProto(c.health),
      fee: moneyToProto(c.expectedValue.fee),
      expectedValue: moneyToProto(money(c.expectedValue.expectedValueMinor, currency)),
      reasons: c.reasons.map((r) => ({ code: r.code, text: r.text })),
    })),
    dropped: decision.dropped.map((d) => ({
      provider: providerIdToProto(d.provider),
      reasons: d.reasons.map((r) => ({ code: r.code, text: r.text })),
    })),
    matchedRuleIds: [...decision.matchedRuleIds],
  };
}

/** A stored policy version as the API shows it. */
export function policyVersionToProto(stored: StoredPolicy): MessageInitShape<typeof RoutingPolicyVersionSchema> {
  return {
    version: stored.policy.version,
    policyJson: policyToJsonText(stored.policy),
    createdAt: timestampFromDate(stored.createdAt),
    createdBy: stored.createdBy,
  };
}

const statusPairs: readonly (readonly [PaymentRowStatus, ProtoPaymentStatus])[] = [
  ["creating", ProtoPaymentStatus.CREATING],
  ["pending", ProtoPaymentStatus.PENDING],
  ["captured", ProtoPaymentStatus.CAPTURED],
  ["failed", ProtoPaymentStatus.FAILED],
  ["closed", ProtoPaymentStatus.CLOSED],
  ["review", ProtoPaymentStatus.REVIEW],
];

/** The stored status of a proto status; `undefined` for UNSPECIFIED or an unknown number. */
export function paymentStatusFromProto(status: ProtoPaymentStatus): PaymentRowStatus | undefined {
  return statusPairs.find(([, proto]) => proto === status)?.[0];
}

function paymentStatusToProto(status: PaymentRowStatus): ProtoPaymentStatus {
  switch (status) {
    case "creating":
      return ProtoPaymentStatus.CREATING;
    case "pending":
      return ProtoPaymentStatus.PENDING;
    case "captured":
      return ProtoPaymentStatus.CAPTURED;
    case "failed":
      return ProtoPaymentStatus.FAILED;
    case "closed":
      return ProtoPaymentStatus.CLOSED;
    case "review":
      return ProtoPaymentStatus.REVIEW;
    default:
      return assertNever(status, "payment status");
  }
}

/** A payment row as the admin API shows it. */
export function paymentToProto(row: PaymentRow): MessageInitShape<typeof PaymentSchema> {
  return {
    paymentId: row.paymentId,
    orderId: row.orderId,
    merchantId: row.merchantId,
    buyerId: row.buyerId,
    provider: providerIdToProto(row.provider),
    channel: channelToProto(row.channel),
    attempt: row.attempt,
    status: paymentStatusToProto(row.status),
    amount: { currency: row.currency, amountMinor: row.amountMinor },
    refunded: { currency: row.currency, amountMinor: row.refundedMinor },
    routingRule: row.routingRule,
    rolloutId: row.rolloutId ?? "",
    rolloutArm: row.rolloutArm ?? "",
    providerTransactionId: row.providerTransactionId ?? "",
    providerStatus: row.providerStatus ?? "",
    failureReason: row.failureReason ?? "",
    createdAt: timestampFromDate(row.createdAt),
    updatedAt: timestampFromDate(row.updatedAt),
    expiresAt: timestampFromDate(row.expiresAt),
    ...(row.capturedAt === null ? {} : { capturedAt: timestampFromDate(row.capturedAt) }),
    ...(row.buyerAction === null ? {} : { buyerAction: buyerActionToProto(row.buyerAction as unknown as BuyerAction) }),
  };
}

/** The stored buyer action (the adapters' {@link BuyerAction}) as the contract's `BuyerAction`. */
function buyerActionToProto(action: BuyerAction): MessageInitShape<typeof BuyerActionSchema> {
  switch (action.kind) {
    case "qr_code":
      return { action: { case: "qrCodeUrl", value: action.url } };
    case "app_params":
      return { action: { case: "appParameters", value: { parameters: { ...action.params } } } };
    case "redirect":
      return { action: { case: "redirectUrl", value: action.url } };
    default:
      return assertNever(action, "buyer action");
  }
}

/** The same violations with `prefix.` before each field (the policy's paths inside `policy_json`). */
export function prefixViolations<E extends { readonly fieldViolations: readonly FieldViolation[] }>(error: E, prefix: string): E {
  return { ...error, fieldViolations: error.fieldViolations.map((v) => ({ ...v, field: `${prefix}.${v.field}` })) };
}
