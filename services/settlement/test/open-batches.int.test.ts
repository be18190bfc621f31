/**
 * The batch lifecycle's first state over real gRPC and Postgres, on a database of this file's own
 * (closing a day claims every unclaimed entry of that provider up to it): while a provider's
 * business day is not closed, ListBatches shows each merchant's **open** batch — the totals so far,
 * no batch id — and once the day is closed, the stored batch with the same totals instead.
 */
import { Provider } from "@tributary/contracts/common/v1/provider";
import { BatchStatus } from "@tributary/contracts/settlement/v1/settlement";
import { SettlementService } from "@tributary/contracts/settlement/v1/settlement_service";
import { closeClient, createClient, type RpcClient } from "@tributary/grpc";
import { freshTestDatabase } from "@tributary/testkit/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordCapture } from "../src/app/record-capture.js";
import { captureOf, inTransaction, uniqueMerchant } from "./ledger-test-env.js";
import { financeToken, startSettlementTestEnv, type SettlementTestEnv } from "./settlement-test-env.js";

const DAY = "2025-10-08";
const closeToken = "open-batches-closer-0001";
const merchant = uniqueMerchant("open");
let database: Awaited<ReturnType<typeof freshTestDatabase>>;
let env: SettlementTestEnv;
let finance: RpcClient<typeof SettlementService>;
let closer: RpcClient<typeof SettlementService>;

beforeAll(async () => {
  database = await freshTestDatabase("tributary_settlement");
  env = await startSettlementTestEnv({
    databaseUrl: database.url,
    tokens: { [closeToken]: { id: "operator", scopes: ["settlement:close"], grants: { merchants: "all" } } },
  });
  const client = (token: string) => createClient(SettlementService, env.service.address, { bearerToken: token, defaultDeadlineMs: 30_000 });
  finance = client(financeToken);
  closer = client(closeToken);
  const at = (hhmmss: string) => new Date(`${DAY}T${hhmmss}.000+08:00`);
  for (const [amountMinor, time] of [[10_000n, "09:00:00"], [2_500n, "23:59:59"]] as const) {
    await inTransaction(env.pool, (tx) => recordCapture(env.service.deps, tx, captureOf(merchant, amountMinor, { provider: "alipay", at: at(time) })));
  }
}, 120_000);

afterAll(async () => {
  closeClient(finance);
  closeClient(closer);
  await env.stop();
  await database.drop();
});

describe("open batches", () => {
  it("lists a day not closed yet as open batches with the totals so far, then the closed batch with the same totals", async () => {
    const before = await finance.listBatches({ settlementDate: DAY });
    expect(before.batches).toHaveLength(1);
    const open = before.batches[0]!;
    expect(open).toMatchObject({
      batchId: "", merchantId: merchant, provider: Provider.ALIPAY, status: BatchStatus.OPEN, paymentCount: 2n,
      gross: { currency: "CNY", amountMinor: 12_500n },
    });
    expect(open.closedAt).toBeUndefined();
    expect(open.net!.amountMinor).toBeLessThan(12_500n); // net of the provider's and the platform's fees
    // Another provider's filter, or another merchant's, shows none of it.
    expect((await finance.listBatches({ settlementDate: DAY, provider: Provider.WECHAT_PAY })).batches).toEqual([]);
    expect((await finance.listBatches({ settlementDate: DAY, merchantId: "m-nobody" })).batches).toEqual([]);

    const closed = await closer.closeBusinessDay({ provider: Provider.ALIPAY, businessDate: DAY });
    expect(closed.batches).toHaveLength(1);
    const after = await finance.listBatches({ settlementDate: DAY });
    expect(after.batches).toHaveLength(1);
    const batch = after.batches[0]!;
    expect(batch.status).toBe(BatchStatus.CLOSED);
    expect(batch.batchId).toBe(closed.batches[0]!.batchId);
    const totals = ({ paymentCount, refundCount, gross, refunds, fees, adjustments, net }: typeof batch) => ({ paymentCount, refundCount, gross, refunds, fees, adjustments, net });
    expect(totals(batch)).toEqual(totals(open));
  });
});
