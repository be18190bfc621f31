/**
 * The scheduled close: once a day's cut-off plus the grace period has passed, every provider's day
 * is closed, oldest first; before the grace period nothing is; running it again changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { startDayCloser } from "../src/adapters/db/day-closer.js";
import { listBatches } from "../src/adapters/db/pg-batches.js";
import { recordCapture } from "../src/app/record-capture.js";
import { captureOf, inTransaction, settlementDatabaseUrl, testDeps, uniqueMerchant } from "./ledger-test-env.js";
import { eventually } from "./settlement-test-env.js";

let pool: pg.Pool;
beforeAll(() => {
  pool = new pg.Pool({ connectionString: settlementDatabaseUrl(), max: 4 });
});
afterAll(async () => {
  await pool.end();
});

async function closedDays(day: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM business_day_close WHERE business_date = $1", [day]);
  return Number(rows[0]!.n);
}

describe("startDayCloser", () => {
  it("closes each provider's past days after the grace period, and only then", async () => {
    const merchant = uniqueMerchant("closer");
    const base = testDeps();
    await inTransaction(pool, (tx) => recordCapture(base, tx, captureOf(merchant, 4200n, { provider: "alipay", at: new Date("2025-09-02T20:00:00.000+08:00") })));
    // 00:05 on 09-03 in Shanghai: 09-02 ended 5 minutes ago, within the 10-minute grace.
    let now = new Date("2025-09-03T00:05:00.000+08:00");
    const deps = { ...base, clock: () => now };
    const closer = startDayCloser({ pool, deps, intervalMs: 50, graceMs: 10 * 60_000, lookbackDays: 2 });
    try {
      await eventually(async () => ((await closedDays("2025-09-01")) === 5 ? true : undefined), "09-01 closed for the five providers");
      expect(await closedDays("2025-09-02")).toBe(0);
      now = new Date("2025-09-03T00:11:00.000+08:00");
      await eventually(async () => ((await closedDays("2025-09-02")) === 5 ? true : undefined), "09-02 closed after the grace period");
      const batches = (await listBatches(pool, { businessDate: "2025-09-02", provider: "alipay" })).filter((b) => b.merchantId === merchant);
      expect(batches).toMatchObject([{ paymentCount: 1n, grossMinor: 4200n }]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await listBatches(pool, { businessDate: "2025-09-02", provider: "alipay" })).filter((b) => b.merchantId === merchant)).toHaveLength(1);
    } finally {
      await closer.stop();
    }
  });
});
