import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { providerIdFromProto, providerIdToProto, type ProviderId } from "@tributary/contracts";
import { Provider } from "@tributary/contracts/common/v1/provider";
import {
  ExceptionStatus as ProtoExceptionStatus,
  type ReconciliationService,
  type ReconciliationException,
} from "@tributary/contracts/reconciliation/v1/reconciliation_service";
import { Code, grantCovers, grantOf, type DomainErrorMapping, type MethodAccess, type ServiceImplementation } from "@tributary/grpc";
import { err, ok } from "@tributary/result";
import type pg from "pg";
import {
  listExceptions,
  resolveException,
  type AdjustmentToApprove,
  type ExceptionQueue,
  type ExceptionStatus,
  type ReconException,
  type ResolutionOutbox,
  type ResolveExceptionError,
} from "../../app/exceptions.js";

/** Reads the exceptions queue. */
export const RECON_READ = "recon:read";
/** Closes exceptions. */
export const RECON_RESOLVE = "recon:resolve";

/** Who may call what; tokens are also bound to providers (`grants.providers`). */
export const reconciliationServiceAccess: { readonly [K in keyof (typeof ReconciliationService)["method"]]: MethodAccess } = {
  listExceptions: [RECON_READ],
  resolveException: [RECON_RESOLVE],
};

/** Why a call of the service failed. */
export type ReconciliationServiceError =
  | ResolveExceptionError
  | { readonly code: "invalid_request"; readonly message: string; readonly fieldViolations: readonly { field: string; description: string }[] };

/** The one mapping of our codes to gRPC status. */
export const reconciliationServiceErrors: DomainErrorMapping<ReconciliationServiceError> = {
  exception_not_found: Code.NotFound,
  exception_not_open: Code.FailedPrecondition,
  note_required: Code.InvalidArgument,
  adjustment_invalid: Code.InvalidArgument,
  invalid_request: Code.InvalidArgument,
};

function invalid(field: string, description: string): ReconciliationServiceError {
  return { code: "invalid_request", message: `${field}: ${description}`, fieldViolations: [{ field, description }] };
}

function statusToProto(status: ExceptionStatus): ProtoExceptionStatus {
  switch (status) {
    case "open":
      return ProtoExceptionStatus.OPEN;
    case "resolved":
      return ProtoExceptionStatus.RESOLVED;
    case "adjusted":
      return ProtoExceptionStatus.ADJUSTED;
    default: {
      const never: never = status;
      throw new Error(`unknown exception status ${String(never)}`);
    }
  }
}

function statusFromProto(status: ProtoExceptionStatus): ExceptionStatus | undefined {
  switch (status) {
    case ProtoExceptionStatus.OPEN:
      return "open";
    case ProtoExceptionStatus.RESOLVED:
      return "resolved";
    case ProtoExceptionStatus.ADJUSTED:
      return "adjusted";
    case ProtoExceptionStatus.UNSPECIFIED:
      return undefined;
    default:
      // A number this build does not know (a newer client): not a status we can act on.
      return undefined;
  }
}

/** One queue row on the wire. */
export function exceptionToProto(e: ReconException): Omit<ReconciliationException, "$typeName"> {
  return {
    exceptionId: e.exceptionId,
    provider: providerIdToProto(e.provider),
    billDate: e.billDate,
    reconciliationId: e.runId,
    matchClass: e.matchClass,
    itemKey: e.itemKey,
    billLocations: e.billLocations,
    ...(e.billAmountMinor === undefined ? {} : { billAmount: { $typeName: "tributary.common.v1.Money", currency: e.currency, amountMinor: e.billAmountMinor } }),
    ...(e.ledgerAmountMinor === undefined ? {} : { ledgerAmount: { $typeName: "tributary.common.v1.Money", currency: e.currency, amountMinor: e.ledgerAmountMinor } }),
    description: e.description,
    status: statusToProto(e.status),
    note: e.note ?? "",
    resolvedBy: e.resolvedBy ?? "",
    ...(e.resolvedAt === undefined ? {} : { resolvedAt: timestampFromDate(e.resolvedAt) }),
    createdAt: timestampFromDate(e.createdAt),
    ...(e.adjustment === undefined
      ? {}
      : {
          adjustment: {
            $typeName: "tributary.reconciliation.v1.ApprovedAdjustment",
            merchantId: e.adjustment.merchantId,
            amount: { $typeName: "tributary.common.v1.Money", currency: e.currency, amountMinor: e.adjustment.amountMinor },
          },
        }),
  };
}

/**
 * `ReconciliationService` over the exceptions queue. Every call is confined to the providers the
 * caller's token is bound to: a list covers only them, and an exception of another provider is
 * NOT_FOUND (not PERMISSION_DENIED — its existence is not the caller's business). Who resolved an
 * exception is the caller's principal id, when is `clock()`.
 */
export function reconciliationServiceHandlers(deps: {
  readonly pool: pg.Pool;
  readonly queue: ExceptionQueue;
  readonly outbox: ResolutionOutbox;
  readonly clock: () => Date;
}): ServiceImplementation<typeof ReconciliationService, ReconciliationServiceError> {
  const withTx = async <T>(body: (tx: pg.PoolClient) => Promise<T>): Promise<T> => {
    const tx = await deps.pool.connect();
    try {
      await tx.query("BEGIN");
      const result = await body(tx);
      await tx.query("COMMIT");
      return result;
    } catch (error) {
      await tx.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      tx.release();
    }
  };
  return {
    async listExceptions(request, context) {
      const grant = grantOf(context.principal, "providers");
      let provider: ProviderId | undefined;
      if (request.provider !== Provider.UNSPECIFIED) {
        provider = providerIdFromProto(request.provider);
        if (provider === undefined) return err(invalid("provider", `unknown provider ${String(request.provider)}`));
      }
      if (request.billDate !== "" && !/^\d{4}-\d{2}-\d{2}$/.test(request.billDate)) return err(invalid("bill_date", `must be YYYY-MM-DD, got ${JSON.stringify(request.billDate)}`));
      const status = request.status === ProtoExceptionStatus.UNSPECIFIED ? undefined : statusFromProto(request.status);
      if (request.status !== ProtoExceptionStatus.UNSPECIFIED && status === undefined) return err(invalid("status", `unknown status ${String(request.status)}`));
      // A provider the token is not bound to lists nothing, as if it had no exceptions.
      if (provider !== undefined && !grantCovers(grant, provider)) return ok({ exceptions: [] });
      const rows = await withTx((tx) =>
        listExceptions(deps.queue, tx, { ...(provider === undefined ? {} : { provider }), ...(request.billDate === "" ? {} : { billDate: request.billDate }), ...(status === undefined ? {} : { status }) }),
      );
      return ok({ exceptions: rows.filter((e) => grantCovers(grant, e.provider)).map(exceptionToProto) });
    },

    async resolveException(request, context) {
      const status = statusFromProto(request.status);
      if (status === undefined || status === "open") return err(invalid("status", "must be RESOLVED or ADJUSTED"));
      const principal = context.principal;
      if (principal === undefined) return err({ code: "exception_not_found", message: `no exception ${request.exceptionId}` });
      const grant = grantOf(principal, "providers");
      let adjustment: AdjustmentToApprove | undefined;
      if (request.adjustment !== undefined) {
        const amount = request.adjustment.amount;
        if (amount === undefined) return err(invalid("adjustment.amount", "the signed amount to post is required"));
        adjustment = { merchantId: request.adjustment.merchantId, amountMinor: amount.amountMinor, currency: amount.currency };
      }
      const closed = await withTx((tx) =>
        resolveException(deps.queue, deps.outbox, tx, {
          exceptionId: request.exceptionId,
          status,
          note: request.note,
          by: principal.id,
          at: deps.clock(),
          ...(adjustment === undefined ? {} : { adjustment }),
          mayActFor: (provider) => grantCovers(grant, provider),
        }),
      );
      if (closed.ok) return ok({ exception: exceptionToProto(closed.value) });
      if (closed.error.code === "adjustment_invalid") return err(invalid(closed.error.field, closed.error.message));
      return err(closed.error);
    },
  };
}
