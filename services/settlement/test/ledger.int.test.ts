/**
 * The ledger on the real Postgres: the database itself refuses an unbalanced entry at commit,
 * postings added to a committed entry, and any UPDATE or DELETE; captures post once per payment;
 * balances now and as of a past time; refunds reserve (pending), then post or void; refunds past
 * the captured amount are refused; checkpoints leave every balance exact.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { recordCapture } from "../src/app/record-capture.js";
import { recordRefund } from "../src/app/record-refund.js";
import { reserveRefund } from "../src/app/reserve-refund.js";
import { voidRefund } from "../src/app/void-refund.js";
import { balancesAt, balancesNow, takeCheckpoint, type AccountBalance } from "../src/adapters/db/pg-ledger.js";
import { accountIdOf, accounts } from "../src/domain/account.js";
import { captureOf, inTransaction, settlementDatabaseUrl, testDeps, uniqueMerchant } from "./ledger-test-env.js";

let pool: pg.Pool;
const deps = testDeps();

beforeAll(() => {
  pool = new pg.Pool({ connectionString: settlementDatabaseUrl(), max: 6 });
});
afterAll(async () => {
  await pool.end();
});

function byId(balances: readonly AccountBalance[]): Record<string, AccountBalance> {
  return Object.fromEntries(balances.map((b) => [b.accountId, b]));
}

/** The sum of every posted posting of an account, the slow way: what every balance must equal. */
async function rawSum(accountId: string): Promise<bigint> {
  const { rows } = await pool.query<{ s: string }>(
    "SELECT COALESCE(sum(amount_minor), 0) AS s FROM ledger_posting WHERE account_id = $1 AND NOT pending",
    [accountId],
  );
  return BigInt(rows[0]!.s);
}

async function insertRawEntry(client: pg.PoolClient, amounts: readonly bigint[], accountIds: readonly string[]): Promise<string> {
  const entryId = uuidv7();
  await client.query(
    `INSERT INTO journal_entry (entry_id, source_key, entry_type, phase, currency, amount_minor, provider_fee_minor,
       platform_fee_minor, merchant_bears_provider_fee, booked_at, posting_count, memo)
     VALUES ($1, $2, 'adjustment', 'posted', 'CNY', 1, 0, 0, true, now(), $3, 'test')`,
    [entryId, `test:${entryId}`, amounts.length],
  );
  for (const [index, amount] of amounts.entries()) {
    await client.query(
      "INSERT INTO ledger_posting (entry_id, line_no, account_id, currency, amount_minor, line_type) VALUES ($1, $2, $3, 'CNY', $4, 'adjustment')",
      [entryId, index + 1, accountIds[index], amount.toString()],
    );
  }
  return entryId;
}

describe("the database keeps the ledger balanced and immutable", () => {
  const a = accountIdOf(accounts.suspense("CNY"));
  let b: string;

  beforeAll(async () => {
    const merchant = uniqueMerchant("raw");
    b = accountIdOf(accounts.merchantPayable(merchant, "CNY"));
    await pool.query(
      "INSERT INTO ledger_account (account_id, kind, merchant_id, currency) VALUES ($1, 'merchant_payable', $2, 'CNY'), ($3, 'suspense', NULL, 'CNY') ON CONFLICT DO NOTHING",
      [b, merchant, a],
    );
  });

  it("refuses an unbalanced entry at COMMIT, leaving nothing behind", async () => {
    const client = await pool.connect();
    let entryId = "";
    try {
      await client.query("BEGIN");
      entryId = await insertRawEntry(client, [100n, -99n], [a, b]);
      await expect(client.query("COMMIT")).rejects.toMatchObject({ code: "23514", message: expect.stringContaining("unbalanced") });
    } finally {
      client.release();
    }
    const { rowCount } = await pool.query("SELECT 1 FROM journal_entry WHERE entry_id = $1", [entryId]);
    expect(rowCount).toBe(0);
  });

  it("commits the same entry when it balances", async () => {
    const entryId = await inTransaction(pool, (client) => insertRawEntry(client, [100n, -100n], [a, b]));
    const { rowCount } = await pool.query("SELECT 1 FROM ledger_posting WHERE entry_id = $1", [entryId]);
    expect(rowCount).toBe(2);
  });

  it("refuses a posting to an account that does not exist, or in another currency than the account's", async () => {
    await expect(inTransaction(pool, (client) => insertRawEntry(client, [5n, -5n], [a, "merchant_payable:nobody:CNY"]))).rejects.toMatchObject({
      code: "23514",
    });
  });

  it("refuses an entry whose postings are not the ones it declares (a leg slipped in)", async () => {
    await expect(
      inTransaction(pool, async (client) => {
        const entryId = await insertRawEntry(client, [7n, -7n], [a, b]);
        // Declared 2, a third leg slipped in.
        await client.query(
          "INSERT INTO ledger_posting (entry_id, line_no, account_id, currency, amount_minor, line_type) VALUES ($1, 3, $2, 'CNY', 1, 'adjustment')",
          [entryId, a],
        );
      }),
    ).rejects.toMatchObject({ code: "23514", message: expect.stringContaining("declares 2 postings but has 3") });
  });

  it("refuses a posting added later to an entry another transaction committed", async () => {
    const entryId = await inTransaction(pool, (client) => insertRawEntry(client, [3n, -3n], [a, b]));
    await expect(
      pool.query("INSERT INTO ledger_posting (entry_id, line_no, account_id, currency, amount_minor, line_type) VALUES ($1, 3, $2, 'CNY', 1, 'adjustment')", [
        entryId,
        a,
      ]),
    ).rejects.toMatchObject({ code: "23514", message: expect.stringContaining("committed by another transaction") });
  });

  it("refuses UPDATE and DELETE of postings, entries and accounts, and TRUNCATE", async () => {
    const entryId = await inTransaction(pool, (client) => insertRawEntry(client, [4n, -4n], [a, b]));
    await expect(pool.query("UPDATE ledger_posting SET amount_minor = 5 WHERE entry_id = $1", [entryId])).rejects.toThrow(/immutable/);
    await expect(pool.query("DELETE FROM ledger_posting WHERE entry_id = $1", [entryId])).rejects.toThrow(/immutable/);
    await expect(pool.query("UPDATE journal_entry SET memo = 'x' WHERE entry_id = $1", [entryId])).rejects.toThrow(/immutable/);
    await expect(pool.query("DELETE FROM journal_entry WHERE entry_id = $1", [entryId])).rejects.toThrow(/immutable/);
    await expect(pool.query("UPDATE ledger_account SET currency = 'USD' WHERE account_id = $1", [b])).rejects.toThrow(/immutable/);
    await expect(pool.query("TRUNCATE ledger_posting")).rejects.toThrow(/immutable/);
    const { rows } = await pool.query<{ s: string }>("SELECT sum(amount_minor) AS s FROM ledger_posting WHERE entry_id = $1", [entryId]);
    expect(rows[0]!.s).toBe("0");
  });

  it("sums to zero per currency over the whole ledger", async () => {
    const { rows } = await pool.query<{ currency: string; s: string }>(
      "SELECT currency, sum(amount_minor) AS s FROM ledger_posting GROUP BY currency",
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.s).toBe("0");
  });
});

describe("captures", () => {
  it("post gross, provider fee and commission once per payment, whatever the event id", async () => {
    const merchant = uniqueMerchant("capture");
    const capture = captureOf(merchant, 129902n); // 1299.02 CNY at 0.60 % half-up → 7.79; 0.50 % → 6.50
    const payable = accountIdOf(accounts.merchantPayable(merchant, "CNY"));
    const first = await inTransaction(pool, (tx) => recordCapture(deps, tx, capture));
    const again = await inTransaction(pool, (tx) => recordCapture(deps, tx, { ...capture, eventId: "another-event-id" }));
    expect(first.posted).toBe(true);
    expect(again.posted).toBe(false);
    const { rows } = await pool.query<{ line_type: string; account_id: string; amount_minor: string }>(
      "SELECT p.line_type, p.account_id, p.amount_minor FROM ledger_posting p JOIN journal_entry e USING (entry_id) WHERE e.payment_id = $1 ORDER BY line_no",
      [capture.paymentId],
    );
    expect(rows.map((r) => [r.line_type, r.account_id, r.amount_minor])).toEqual([
      ["payment_net_of_fee", "provider_clearing:wechat_pay:CNY", "129123"],
      ["provider_fee", "provider_fee_expense:wechat_pay:CNY", "779"],
      ["payment", payable, "-129902"],
      ["provider_fee_recharge", payable, "779"],
      ["provider_fee_recharge", "provider_fee_expense:wechat_pay:CNY", "-779"],
      ["platform_fee", payable, "650"],
      ["platform_fee", "platform_fee_revenue:CNY", "-650"],
    ]);
    const [balance] = await balancesNow(pool, [payable]);
    expect(balance?.postedMinor).toBe(-(129902n - 779n - 650n));
  });

  it("leave out zero legs: a 0.01 CNY payment has no fee", async () => {
    const merchant = uniqueMerchant("tiny");
    const capture = captureOf(merchant, 1n);
    await inTransaction(pool, (tx) => recordCapture(deps, tx, capture));
    const { rows } = await pool.query<{ line_type: string }>(
      "SELECT p.line_type FROM ledger_posting p JOIN journal_entry e USING (entry_id) WHERE e.payment_id = $1 ORDER BY line_no",
      [capture.paymentId],
    );
    expect(rows.map((r) => r.line_type)).toEqual(["payment_net_of_fee", "payment"]);
  });
});

describe("balances as of a past time", () => {
  it("count the postings booked up to that time, and nothing after", async () => {
    const merchant = uniqueMerchant("asof");
    const payable = accountIdOf(accounts.merchantPayable(merchant, "CNY"));
    const t1 = new Date("2026-11-20T02:00:00.000Z");
    const t2 = new Date("2026-11-21T02:00:00.000Z");
    await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 10000n, { at: t1 })));
    await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 20000n, { at: t2 })));
    const before = byId(await balancesAt(pool, [payable], new Date(t1.getTime() - 1)));
    const between = byId(await balancesAt(pool, [payable], t1));
    const after = byId(await balancesAt(pool, [payable], t2));
    expect(before[payable]?.postedMinor).toBe(0n);
    // 100.00 − 0.60 fee − 0.50 commission
    expect(between[payable]?.postedMinor).toBe(-(10000n - 60n - 50n));
    expect(after[payable]?.postedMinor).toBe(-(10000n - 60n - 50n) - (20000n - 120n - 100n));
    expect(byId(await balancesNow(pool, [payable]))[payable]?.postedMinor).toBe(after[payable]?.postedMinor);
  });
});

describe("refunds: reserve, then post or void", () => {
  it("reserve against the merchant's available balance, post on completion, and give fees back proportionally", async () => {
    const merchant = uniqueMerchant("refund");
    const payable = accountIdOf(accounts.merchantPayable(merchant, "CNY"));
    const capture = captureOf(merchant, 129902n);
    await inTransaction(pool, (tx) => recordCapture(deps, tx, capture));
    const posted0 = byId(await balancesNow(pool, [payable]))[payable]!.postedMinor;

    const request = { orderId: capture.orderId, refundRef: "r-1", amountMinor: 29902n, currency: "CNY" as const, eventId: "e-req", providerRefundId: undefined, at: new Date() };
    const reserved = await inTransaction(pool, (tx) => reserveRefund(deps, tx, request));
    expect(reserved).toMatchObject({ ok: true, value: { outcome: "reserved" } });
    const duringReserve = byId(await balancesNow(pool, [payable]))[payable]!;
    expect(duringReserve.postedMinor).toBe(posted0);
    // refund 299.02 debited; fee 1.79 and commission 1.50 (half-up of 779·29902/129902 and 650·…) credited back
    expect(duringReserve.pendingDebitsMinor).toBe(29902n);
    expect(duringReserve.pendingCreditsMinor).toBe(179n + 150n);

    const again = await inTransaction(pool, (tx) => reserveRefund(deps, tx, request));
    expect(again).toMatchObject({ ok: true, value: { outcome: "already_reserved" } });

    const done = await inTransaction(pool, (tx) =>
      recordRefund(deps, tx, { ...request, paymentId: capture.paymentId, eventId: "e-done", providerRefundId: "RF-1" }),
    );
    expect(done).toMatchObject({ ok: true, value: { outcome: "posted" } });
    const afterPost = byId(await balancesNow(pool, [payable]))[payable]!;
    expect(afterPost.postedMinor).toBe(posted0 + 29902n - 179n - 150n);
    expect(afterPost.pendingDebitsMinor).toBe(0n);
    expect(afterPost.pendingCreditsMinor).toBe(0n);
    const twice = await inTransaction(pool, (tx) => recordRefund(deps, tx, { ...request, paymentId: capture.paymentId, eventId: "e-done-2", providerRefundId: "RF-1" }));
    expect(twice).toMatchObject({ ok: true, value: { outcome: "already_posted" } });

    // The rest of the payment, in a second refund: together they give back exactly the original fee.
    await inTransaction(pool, (tx) =>
      recordRefund(deps, tx, { ...request, refundRef: "r-2", amountMinor: 100000n, paymentId: capture.paymentId, eventId: "e-2", providerRefundId: "RF-2" }),
    );
    const { rows } = await pool.query<{ fee: string; commission: string }>(
      "SELECT sum(provider_fee_minor) AS fee, sum(platform_fee_minor) AS commission FROM journal_entry WHERE payment_id = $1 AND entry_type = 'refund_posted'",
      [capture.paymentId],
    );
    expect(rows[0]).toEqual({ fee: "779", commission: "650" });
    expect(byId(await balancesNow(pool, [payable]))[payable]!.postedMinor).toBe(0n);
  });

  it("void a reservation when the provider fails the refund, leaving posted balances as they were", async () => {
    const merchant = uniqueMerchant("void");
    const payable = accountIdOf(accounts.merchantPayable(merchant, "CNY"));
    const capture = captureOf(merchant, 5000n);
    await inTransaction(pool, (tx) => recordCapture(deps, tx, capture));
    const before = byId(await balancesNow(pool, [payable]))[payable]!;
    const request = { orderId: capture.orderId, refundRef: "r-void", amountMinor: 5000n, currency: "CNY" as const, eventId: "e", providerRefundId: undefined, at: new Date() };
    await inTransaction(pool, (tx) => reserveRefund(deps, tx, request));
    expect(byId(await balancesNow(pool, [payable]))[payable]!.pendingDebitsMinor).toBe(5000n);
    // While reserved, no second refund fits.
    const second = await inTransaction(pool, (tx) => reserveRefund(deps, tx, { ...request, refundRef: "r-other", amountMinor: 1n }));
    expect(second).toMatchObject({ ok: false, error: { code: "refund_exceeds_capture" } });

    expect(await inTransaction(pool, (tx) => voidRefund(tx, { ...request, reason: "provider_declined" }))).toMatchObject({ outcome: "voided" });
    expect(await inTransaction(pool, (tx) => voidRefund(tx, { ...request, reason: "again" }))).toMatchObject({ outcome: "already_resolved" });
    const after = byId(await balancesNow(pool, [payable]))[payable]!;
    expect(after).toEqual(before);
    // A voided reservation cannot be posted later.
    const late = await inTransaction(pool, (tx) => recordRefund(deps, tx, { ...request, paymentId: capture.paymentId }));
    expect(late).toMatchObject({ ok: false, error: { code: "reservation_voided" } });
    // And its amount is free again.
    const fits = await inTransaction(pool, (tx) => reserveRefund(deps, tx, { ...request, refundRef: "r-other", amountMinor: 5000n }));
    expect(fits).toMatchObject({ ok: true, value: { outcome: "reserved" } });
  });

  it("refuse a refund larger than the captured amount", async () => {
    const merchant = uniqueMerchant("big");
    const capture = captureOf(merchant, 1000n);
    await inTransaction(pool, (tx) => recordCapture(deps, tx, capture));
    const result = await inTransaction(pool, (tx) =>
      recordRefund(deps, tx, { orderId: capture.orderId, paymentId: capture.paymentId, refundRef: "too-much", amountMinor: 1001n, currency: "CNY", eventId: "e", providerRefundId: undefined, at: new Date() }),
    );
    expect(result).toMatchObject({ ok: false, error: { code: "refund_exceeds_capture" } });
  });
});

describe("checkpoints", () => {
  it("leave every balance exact, before and after, with postings on both sides of the checkpoint", async () => {
    const merchant = uniqueMerchant("cp");
    const ids = [
      accountIdOf(accounts.merchantPayable(merchant, "CNY")),
      "provider_clearing:alipay:CNY",
      "provider_fee_expense:alipay:CNY",
      "platform_fee_revenue:CNY",
    ];
    for (let i = 0; i < 3; i += 1) await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 1000n + BigInt(i), { provider: "alipay" })));
    const check = async (): Promise<void> => {
      const balances = await balancesNow(pool, ids);
      expect(balances.map((b) => b.accountId).sort()).toEqual([...ids].sort());
      for (const balance of balances) expect(balance.postedMinor).toBe(await rawSum(balance.accountId));
    };
    await check();
    const first = await takeCheckpoint(pool);
    expect(first.lines).toBeGreaterThan(0);
    await check();
    for (let i = 0; i < 2; i += 1) await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 777n, { provider: "alipay" })));
    await check();
    await takeCheckpoint(pool);
    await check();
    const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM balance_checkpoint_line WHERE account_id = $1", [ids[0]]);
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(2);
  });

  it("counts a transaction that was open while the checkpoint was taken once it commits, and not before", async () => {
    const merchant = uniqueMerchant("cp-open");
    const payable = accountIdOf(accounts.merchantPayable(merchant, "CNY"));
    await inTransaction(pool, (tx) => recordCapture(deps, tx, captureOf(merchant, 1000n)));
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await recordCapture(deps, client, captureOf(merchant, 2000n));
      await takeCheckpoint(pool); // the open transaction's xid is in this checkpoint's snapshot
      expect(byId(await balancesNow(pool, [payable]))[payable]!.postedMinor).toBe(-(1000n - 6n - 5n));
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    await takeCheckpoint(pool);
    expect(byId(await balancesNow(pool, [payable]))[payable]!.postedMinor).toBe(-(1000n - 6n - 5n) - (2000n - 12n - 10n));
    expect(await rawSum(payable)).toBe(-(1000n - 6n - 5n) - (2000n - 12n - 10n));
  });
});
