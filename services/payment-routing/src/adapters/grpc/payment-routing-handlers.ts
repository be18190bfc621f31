import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { PaymentRoutingService } from "@tributary/contracts/payment/v1/payment_routing_service";
import { grantCovers, grantOf, type CallContext, type FieldViolation, type ServiceImplementation, type TenantGrant } from "@tributary/grpc";
import { err, ok, type Result } from "@tributary/result";
import { providerIdToProto } from "@tributary/contracts";
import { applyPolicyCommand, type PolicyCommandDeps } from "../../app/policy/apply-policy-command.js";
import { policyFromJsonText } from "../../app/policy/policy-json.js";
import type { HealthTracker } from "../../app/health-tracker.js";
import type { PolicySource } from "../../app/policy-source.js";
import { route, type RoutingDecision } from "../../domain/routing/route.js";
import type { RoutingOrder } from "../../domain/routing/routing-order.js";
import type { PaymentCursor, PaymentReader, PaymentRowStatus } from "../prisma/prisma-payment-reader.js";
import type {
  InvalidRequestError,
  MerchantAccessDeniedError,
  PaymentNotFoundError,
  PaymentRoutingServiceError,
  PolicyAccessDeniedError,
} from "./payment-routing-error-codes.js";
import {
  channelToProto,
  decisionToProto,
  healthToProto,
  paymentStatusFromProto,
  paymentToProto,
  policyVersionToProto,
  prefixViolations,
  routingOrderFromProto,
} from "./payment-routing-messages.js";

/** What the PaymentRoutingService handlers need. */
export interface PaymentRoutingGrpcDeps {
  /** The policy store (Prisma): GetRoutingPolicy reads it, UpdateRoutingPolicy and ResumeRollout write through it. */
  readonly policies: PolicyCommandDeps;
  /** The cached current policy routing uses (previews decide with exactly what payments get). */
  readonly policySource: PolicySource;
  readonly health: HealthTracker;
  readonly payments: PaymentReader;
  readonly clock: () => Date;
}

/** Page size when the caller asks for 0 (the proto default). */
export const DEFAULT_PAGE_SIZE = 50;
/** Largest page a caller may ask for. */
export const MAX_PAGE_SIZE = 500;

/**
 * A draw no exploration share reaches (validatePolicy caps the share at 0.5): previews and the
 * checkout's list show the ranking itself, not one random reordering of it.
 */
const NO_EXPLORATION = 1;

function invalidRequest(violations: readonly FieldViolation[]): InvalidRequestError {
  const first = violations[0];
  return { code: "invalid_request", message: `invalid request: ${first?.field ?? ""} ${first?.description ?? ""}`.trim(), fieldViolations: violations };
}

function merchantAccess(grant: TenantGrant, merchantId: string): Result<void, MerchantAccessDeniedError> {
  return grantCovers(grant, merchantId)
    ? ok(undefined)
    : err({ code: "merchant_access_denied", message: `this credential may not act for merchant ${merchantId}`, merchantId });
}

function policyAccess(context: CallContext): Result<string, PolicyAccessDeniedError> {
  const principal = context.principal;
  if (principal === undefined || grantOf(principal, "merchants") !== "all") {
    return err({ code: "policy_access_denied", message: "the routing policy spans every merchant: this needs a credential bound to all merchants" });
  }
  return ok(principal.id);
}

/** The same answer for a payment that does not exist and for one of another merchant. */
function paymentNotFound(paymentId: string): PaymentNotFoundError {
  return { code: "payment_not_found", message: `payment ${paymentId} does not exist`, paymentId };
}

/** The page token: the last payment returned, (created_at, payment_id), as base64url JSON. */
export function encodePaymentPageToken(cursor: PaymentCursor): string {
  return Buffer.from(JSON.stringify({ t: cursor.createdAt.toISOString(), i: cursor.paymentId }), "utf8").toString("base64url");
}

/** Reads a token made by {@link encodePaymentPageToken}; `undefined` when it is not one. */
export function decodePaymentPageToken(token: string): PaymentCursor | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const { t, i } = parsed as { t?: unknown; i?: unknown };
    if (typeof t !== "string" || typeof i !== "string" || i === "") return undefined;
    const createdAt = new Date(t);
    return Number.isNaN(createdAt.getTime()) ? undefined : { createdAt, paymentId: i };
  } catch {
    return undefined;
  }
}

/**
 * PaymentRoutingService over the routing domain and the policy store. Errors are values, mapped
 * by `paymentRoutingErrorCodes`. Merchant binding as in the order service: a preview or listing
 * for another merchant is `merchant_access_denied`, another merchant's payment is
 * `payment_not_found` exactly like a missing one. The policy methods act as the caller's
 * principal id (the audit's actor) and need a token bound to all merchants.
 */
export function createPaymentRoutingHandlers(
  deps: PaymentRoutingGrpcDeps,
): ServiceImplementation<typeof PaymentRoutingService, PaymentRoutingServiceError> {
  async function decide(
    request: { readonly order?: Parameters<typeof routingOrderFromProto>[0] },
    context: CallContext,
    at: Date,
  ): Promise<Result<{ order: RoutingOrder; decision: RoutingDecision }, InvalidRequestError | MerchantAccessDeniedError>> {
    const order = routingOrderFromProto(request.order);
    if (!order.ok) return order;
    const permitted = merchantAccess(grantOf(context.principal, "merchants"), order.value.merchantId);
    if (!permitted.ok) return permitted;
    const policy = await deps.policySource.current();
    const decision = route({ order: order.value, policy, health: deps.health.book(), now: at, random: NO_EXPLORATION });
    return ok({ order: order.value, decision });
  }

  return {
    async listAvailableMethods(request, context) {
      const decided = await decide(request, context, deps.clock());
      if (!decided.ok) return decided;
      const { decision } = decided.value;
      return ok({
        methods: decision.candidates.map((c) => ({ provider: providerIdToProto(c.provider), rank: c.rank, preferred: c.tier === "preferred" })),
        policyVersion: decision.policyVersion,
      });
    },

    async previewRoute(request, context) {
      const at = request.at === undefined ? deps.clock() : timestampDate(request.at);
      const decided = await decide(request, context, at);
      if (!decided.ok) return decided;
      return ok(decisionToProto(decided.value.decision, decided.value.order.amount.currency));
    },

    async getPayment(request, context) {
      if (request.paymentId.trim() === "") return err(invalidRequest([{ field: "payment_id", description: "is required" }]));
      const row = await deps.payments.get(request.paymentId);
      if (row === undefined || !grantCovers(grantOf(context.principal, "merchants"), row.merchantId)) {
        return err(paymentNotFound(request.paymentId));
      }
      return ok({ payment: paymentToProto(row) });
    },

    async listPayments(request, context) {
      const violations: FieldViolation[] = [];
      if (request.merchantId.trim() === "") violations.push({ field: "merchant_id", description: "is required" });
      const statuses: PaymentRowStatus[] = [];
      request.statuses.forEach((status, i) => {
        const name = paymentStatusFromProto(status);
        if (name === undefined) violations.push({ field: `statuses[${i}]`, description: `${status} is not a payment status` });
        else statuses.push(name);
      });
      if (!Number.isInteger(request.pageSize) || request.pageSize < 0 || request.pageSize > MAX_PAGE_SIZE) {
        violations.push({ field: "page_size", description: `must be between 1 and ${MAX_PAGE_SIZE} (0 means ${DEFAULT_PAGE_SIZE})` });
      }
      const after = request.pageToken === "" ? undefined : decodePaymentPageToken(request.pageToken);
      if (request.pageToken !== "" && after === undefined) {
        violations.push({ field: "page_token", description: "is not a token from a previous ListPayments response" });
      }
      if (violations.length > 0) return err(invalidRequest(violations));
      const permitted = merchantAccess(grantOf(context.principal, "merchants"), request.merchantId);
      if (!permitted.ok) return permitted;
      const limit = request.pageSize === 0 ? DEFAULT_PAGE_SIZE : request.pageSize;
      const rows = await deps.payments.list({ merchantId: request.merchantId, statuses, after, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const nextPageToken = rows.length > limit && last !== undefined ? encodePaymentPageToken({ createdAt: last.createdAt, paymentId: last.paymentId }) : "";
      return ok({ payments: page.map(paymentToProto), nextPageToken });
    },

    async getRoutingPolicy(_request, context) {
      const allowed = policyAccess(context);
      if (!allowed.ok) return allowed;
      const stored = await deps.policies.repository.current();
      if (stored === undefined) throw new Error("payment-routing: no routing policy is stored (the seed runs at start-up)");
      return ok({ policy: policyVersionToProto(stored) });
    },

    async updateRoutingPolicy(request, context) {
      const allowed = policyAccess(context);
      if (!allowed.ok) return allowed;
      const violations: FieldViolation[] = [];
      if (!Number.isSafeInteger(request.expectedVersion) || request.expectedVersion < 1) {
        violations.push({ field: "expected_version", description: "is required: the version the change was made against" });
      }
      if (request.reason.trim() === "") violations.push({ field: "reason", description: "is required (it is kept in the audit trail)" });
      if (request.policyJson.trim() === "") violations.push({ field: "policy_json", description: "is required" });
      if (violations.length > 0) return err(invalidRequest(violations));
      const next = policyFromJsonText(request.policyJson);
      if (!next.ok) return err(prefixViolations(next.error, "policy_json"));
      const applied = await applyPolicyCommand(deps.policies, {
        type: "change_policy",
        actor: allowed.value,
        at: deps.clock(),
        reason: request.reason,
        expectedVersion: request.expectedVersion,
        next: next.value,
      });
      if (!applied.ok) return applied.error.code === "invalid_policy" ? err(prefixViolations(applied.error, "policy_json")) : applied;
      return ok({ policy: policyVersionToProto(applied.value.current) });
    },

    async resumeRollout(request, context) {
      const allowed = policyAccess(context);
      if (!allowed.ok) return allowed;
      const violations: FieldViolation[] = [];
      if (request.rolloutId.trim() === "") violations.push({ field: "rollout_id", description: "is required" });
      if (request.reason.trim() === "") violations.push({ field: "reason", description: "is required (it is kept in the audit trail)" });
      if (violations.length > 0) return err(invalidRequest(violations));
      const applied = await applyPolicyCommand(deps.policies, {
        type: "resume_rollout",
        actor: allowed.value,
        at: deps.clock(),
        reason: request.reason,
        rolloutId: request.rolloutId,
      });
      if (!applied.ok) return applied;
      return ok({ policy: policyVersionToProto(applied.value.current), resumed: applied.value.events.length > 0 });
    },

    async listProviderHealth() {
      const policy = await deps.policySource.current();
      const snapshot = deps.health.snapshot(
        policy.providers.map((p) => p.provider),
        deps.clock(),
      );
      return ok({
        providers: snapshot.map((h) => ({ provider: providerIdToProto(h.provider), channel: channelToProto(h.channel), health: healthToProto(h.health) })),
      });
    },
  };
}
