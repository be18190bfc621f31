import type { ReconciliationCompleted } from "@tributary/contracts/reconciliation/v1/reconciliation_events";
import { ExceptionStatus, ReconciliationService } from "@tributary/contracts/reconciliation/v1/reconciliation_service";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { closeClient, Code, createClient, type RpcClient } from "@tributary/grpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertLedgerRecords } from "../src/adapters/db/pg-ledger-records.js";
import { startReconciliationWorker, type RunningReconciliationWorker } from "../src/reconciliation-worker.js";
import { at, eventually, startReconTestEnv, type ReconTestEnv } from "./recon-test-env.js";

// ReconciliationService over real gRPC, served by the worker on the service kit: a WeChat day with
// two injected differences reconciled by the worker, then its exceptions listed and resolved by
// tokens with and without the scopes, bound to WeChat Pay or to another provider.
const D = "2026-10-05";
const D1 = "2026-10-06";
const TOKENS = {
  "finance-token": { id: "finance-li", scopes: ["recon:read", "recon:resolve"], grants: { providers: ["wechat_pay"] } },
  "reader-token": { id: "oncall-wang", scopes: ["recon:read"], grants: { providers: ["wechat_pay"] } },
  "alipay-token": { id: "finance-alipay", scopes: ["recon:read", "recon:resolve"], grants: { providers: ["alipay"] } },
} as const;
let env: ReconTestEnv;
let worker: RunningReconciliationWorker;
const clients: RpcClient<typeof ReconciliationService>[] = [];
const client = (token: keyof typeof TOKENS): RpcClient<typeof ReconciliationService> => {
  const c = createClient(ReconciliationService, worker.grpcAddress ?? "", { bearerToken: token, defaultDeadlineMs: 10_000 });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  env = await startReconTestEnv({
    provider: "wechat_pay",
    startMs: at(D, "08:00:00"),
    discrepancies: [
      { kind: "missing_row", outTradeNo: "GRPC002" },
      { kind: "changed_amount", outTradeNo: "GRPC003", deltaMinor: 100n },
    ],
  });
  await env.pay("GRPC001", 10_000n, at(D, "09:00:00"));
  await env.pay("GRPC002", 5_000n, at(D, "10:00:00"));
  await env.pay("GRPC003", 8_888n, at(D, "11:00:00"));
  await insertLedgerRecords(env.pool, "wechat_pay", env.ledgerFromSandbox());
  env.clock.set(at(D1, "10:00:00"));
  worker = await startReconciliationWorker({
    databaseUrl: env.databaseUrl,
    kafka: { brokers: env.brokers },
    source: env.sourceConfig(),
    matchConfig: { exceptionAfterDays: 0 },
    groupId: `reconciliation-wechat-grpc-test-${Date.now()}`,
    grpc: { address: "127.0.0.1:0", tokens: TOKENS },
    clock: () => new Date(env.clock.nowMs()),
  });
  await env.publishStatement(D);
  await eventually(
    async () => env.records.find((r) => r.type.endsWith("ReconciliationCompleted") && r.key === `wechat_pay/${D}`)?.message as ReconciliationCompleted | undefined,
    "ReconciliationCompleted for D",
  );
});

afterAll(async () => {
  for (const c of clients) closeClient(c);
  await worker?.stop();
  await env?.stop();
});

describe("ReconciliationService over gRPC", () => {
  it("lists the day's exceptions for a token bound to WeChat Pay, filtered by provider, day and status", async () => {
    const { exceptions } = await client("reader-token").listExceptions({ provider: Provider.WECHAT_PAY, billDate: D, status: ExceptionStatus.OPEN });
    expect(exceptions.map((e) => e.matchClass).sort()).toEqual(["missing_in_bill", "over_amount"]);
    const over = exceptions.find((e) => e.matchClass === "over_amount");
    expect(over?.billAmount).toMatchObject({ currency: "CNY", amountMinor: 8_988n });
    expect(over?.ledgerAmount).toMatchObject({ currency: "CNY", amountMinor: 8_888n });
    expect(over?.provider).toBe(Provider.WECHAT_PAY);
    expect(over?.status).toBe(ExceptionStatus.OPEN);
    expect(over?.resolvedBy).toBe("");
    const unfiltered = await client("reader-token").listExceptions({});
    expect(unfiltered.exceptions.length).toBeGreaterThanOrEqual(2);
    expect(unfiltered.exceptions.every((e) => e.provider === Provider.WECHAT_PAY)).toBe(true);
    await expect(client("reader-token").listExceptions({ billDate: "5 Oct" })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  it("shows another provider's token nothing, and its resolve is NOT_FOUND; a token without recon:resolve is refused", async () => {
    const { exceptions } = await client("reader-token").listExceptions({ billDate: D, status: ExceptionStatus.OPEN });
    const target = exceptions[0];
    expect(target).toBeDefined();
    expect((await client("alipay-token").listExceptions({ billDate: D })).exceptions).toEqual([]);
    expect((await client("alipay-token").listExceptions({ provider: Provider.WECHAT_PAY, billDate: D })).exceptions).toEqual([]);
    await expect(client("alipay-token").resolveException({ exceptionId: target?.exceptionId ?? "", note: "not mine", status: ExceptionStatus.RESOLVED })).rejects.toMatchObject({ code: Code.NotFound });
    await expect(client("reader-token").resolveException({ exceptionId: target?.exceptionId ?? "", note: "read only", status: ExceptionStatus.RESOLVED })).rejects.toMatchObject({ code: Code.PermissionDenied });
    const still = await env.pool.query<{ status: string }>(`SELECT status FROM recon_exceptions WHERE exception_id = $1`, [target?.exceptionId]);
    expect(still.rows[0]?.status).toBe("open");
  });

  it("resolves with who (the token's principal) and when (the worker's clock), once", async () => {
    const finance = client("finance-token");
    const { exceptions } = await finance.listExceptions({ provider: Provider.WECHAT_PAY, billDate: D, status: ExceptionStatus.OPEN });
    const target = exceptions.find((e) => e.matchClass === "over_amount");
    const id = target?.exceptionId ?? "";
    await expect(finance.resolveException({ exceptionId: id, note: " ", status: ExceptionStatus.RESOLVED })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(finance.resolveException({ exceptionId: id, note: "why", status: ExceptionStatus.OPEN })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(finance.resolveException({ exceptionId: "00000000-0000-4000-8000-000000000000", note: "no such", status: ExceptionStatus.RESOLVED })).rejects.toMatchObject({ code: Code.NotFound });

    // ADJUSTED needs the approved adjustment; a bad one is INVALID_ARGUMENT naming the field.
    const noAdjustment = await finance.resolveException({ exceptionId: id, note: "why", status: ExceptionStatus.ADJUSTED }).catch((error: unknown) => error);
    expect(noAdjustment).toMatchObject({ code: Code.InvalidArgument, fieldViolations: [{ field: "adjustment" }] });
    const wrongCurrency = await finance
      .resolveException({ exceptionId: id, note: "why", status: ExceptionStatus.ADJUSTED, adjustment: { merchantId: "m-1", amount: { currency: "USD", amountMinor: 5n } } })
      .catch((error: unknown) => error);
    expect(wrongCurrency).toMatchObject({ code: Code.InvalidArgument, fieldViolations: [{ field: "adjustment.amount.currency" }] });

    const adjustment = { merchantId: "m-wx-2", amount: { currency: "CNY", amountMinor: -120n } };
    const { exception } = await finance.resolveException({ exceptionId: id, note: "WeChat corrects it next cycle", status: ExceptionStatus.ADJUSTED, adjustment });
    expect(exception).toMatchObject({ exceptionId: id, status: ExceptionStatus.ADJUSTED, note: "WeChat corrects it next cycle", resolvedBy: "finance-li", adjustment });
    expect(Number(exception?.resolvedAt?.seconds) * 1000).toBe(at(D1, "10:00:00"));
    const row = await env.pool.query<{ status: string; resolved_by: string; note: string }>(
      `SELECT status, resolved_by, note, adjustment_merchant_id, adjustment_amount_minor::text FROM recon_exceptions WHERE exception_id = $1`, [id]);
    expect(row.rows[0]).toEqual({ status: "adjusted", resolved_by: "finance-li", note: "WeChat corrects it next cycle", adjustment_merchant_id: "m-wx-2", adjustment_amount_minor: "-120" });

    await expect(finance.resolveException({ exceptionId: id, note: "again", status: ExceptionStatus.RESOLVED })).rejects.toMatchObject({ code: Code.FailedPrecondition });
    const open = await finance.listExceptions({ provider: Provider.WECHAT_PAY, billDate: D, status: ExceptionStatus.OPEN });
    expect(open.exceptions.map((e) => e.matchClass)).toEqual(["missing_in_bill"]);
    const adjusted = await finance.listExceptions({ billDate: D, status: ExceptionStatus.ADJUSTED });
    expect(adjusted.exceptions.map((e) => e.exceptionId)).toEqual([id]);
  });
});
