import type { ProviderId } from "@tributary/contracts";
import type { BillDiscrepancy } from "@tributary/provider-sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inTransaction } from "../src/adapters/db/in-transaction.js";
import { insertLedgerRecords } from "../src/adapters/db/pg-ledger-records.js";
import { reconcileBill } from "../src/app/reconcile-bill.js";
import { createBillSource } from "../src/providers/bill-sources.js";
import { parseBill } from "../src/providers/parse-bill.js";
import { pgReconDeps } from "../src/recon-deps.js";
import { at, startReconTestEnv, type ReconTestEnv } from "./recon-test-env.js";

// Each provider's bill fetched through its own signed download API from the sandbox, which wrote
// it with its real bill writer from what it processed: the parsed rows must be exactly what was
// processed, and the match must find exactly the injected differences.
const D = "2026-11-20";
interface Case {
  readonly provider: ProviderId;
  readonly prefix: string;
  readonly wechatColumns?: "legacy";
  readonly adjustments?: boolean;
}
const cases: readonly Case[] = [
  { provider: "alipay", prefix: "ALI" },
  { provider: "unionpay", prefix: "UPO", adjustments: true },
  { provider: "jd_pay", prefix: "JDP" },
  { provider: "ecny", prefix: "ECN" },
  { provider: "wechat_pay", prefix: "WXL", wechatColumns: "legacy" },
];

describe.each(cases)("$provider bill over its download API", (c) => {
  let env: ReconTestEnv;
  const order = (n: number): string => `${c.prefix}${String(n).padStart(5, "0")}`;
  const discrepancies: BillDiscrepancy[] = [
    { kind: "changed_amount", outTradeNo: order(3), deltaMinor: -7n },
    { kind: "missing_row", outTradeNo: order(4) },
  ];

  beforeAll(async () => {
    env = await startReconTestEnv({
      provider: c.provider,
      startMs: at(D, "08:00:00"),
      discrepancies,
      ...(c.wechatColumns === undefined ? {} : { wechatColumns: c.wechatColumns }),
      ...(c.adjustments === true ? { adjustments: [{ outTradeNo: order(1), direction: "D" as const, amountMinor: 150n, reasonCode: "2001", atMs: at(D, "20:00:00") }] } : {}),
    });
    await env.pay(order(1), 129_902n, at(D, "09:00:00"));
    await env.pay(order(2), 1n, at(D, "09:30:00"));
    await env.refund(order(1), `${order(1)}R1`, 29_902n, 129_902n, at(D, "10:00:00"));
    await env.refund(order(1), `${order(1)}R2`, 100_000n, 129_902n, at(D, "10:30:00"));
    await env.pay(order(3), 4_321n, at(D, "11:00:00"));
    await env.pay(order(4), 8_765n, at(D, "12:00:00"));
    await new Promise((resolve) => setTimeout(resolve, 50)); // refunds succeed 1 ms after acceptance (real time)
    await insertLedgerRecords(env.pool, c.provider, env.ledgerFromSandbox());
    env.clock.set(at("2026-11-21", "09:30:00"));
  });
  afterAll(async () => env?.stop());

  it("parses to exactly what the sandbox processed, and matches it but for the injected differences", async () => {
    const fetched = await createBillSource(env.sourceConfig()).fetch(D);
    if (!fetched.ok) throw new Error(`${fetched.error.code}: ${fetched.error.message}`);
    const parsed = await parseBill(c.provider, { bytes: fetched.value.bytes, fileName: fetched.value.fileName, billDate: D });
    if (!parsed.ok) throw new Error(parsed.error.message);
    const rows = parsed.value.rows.filter((r) => r.kind !== "adjustment").map((r) => `${r.kind} ${r.merchantOrderRef} ${r.merchantRefundRef} ${r.amountMinor} ${r.feeMinor}`).sort();
    const truth = env.ledgerFromSandbox(new Set([order(4)])).map((r) => `${r.kind} ${r.merchantOrderRef} ${r.merchantRefundRef} ${r.merchantOrderRef === order(3) ? r.amountMinor - 7n : r.amountMinor} ${r.feeMinor}`).sort();
    expect(rows).toEqual(truth);

    const deps = pgReconDeps({ pool: env.pool, matchConfig: { exceptionAfterDays: 0 } });
    const outcome = await inTransaction(env.pool, (tx) => reconcileBill(deps, tx, { provider: c.provider, billDate: D, bill: fetched.value }));
    if (outcome.kind !== "completed") throw new Error(`run ${outcome.kind}`);
    expect(outcome.totals.matched.count).toBe(4); // order 1, its two refunds, order 2
    expect(outcome.totals.under_amount.count).toBe(1);
    expect(outcome.totals.missing_in_bill.count).toBe(1);
    expect(outcome.totals.missing_in_ledger.count).toBe(c.adjustments === true ? 1 : 0); // the ZME adjustment nobody posted
    expect(outcome.newExceptions).toBe(c.adjustments === true ? 3 : 2);
  });
});
