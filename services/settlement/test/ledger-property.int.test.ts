/**
 * The property, on the real Postgres: for random sequences of captures, refund requests
 * (pending), completions (posted), failures (voided), duplicates of any of them and any order,
 * with checkpoints taken at random points — every entry balances, the ledger sums to zero per
 * currency, each cause posts once, refunds never exceed their capture, the "now" balance equals
 * the sum of all postings and a point-in-time balance the sum of the postings booked up to then.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { recordCapture } from "../src/app/record-capture.js";
import { recordRefund } from "../src/app/record-refund.js";
import { reserveRefund } from "../src/app/reserve-refund.js";
import { voidRefund } from "../src/app/void-refund.js";
import { balancesAt, balancesNow, listAccountIds, takeCheckpoint } from "../src/adapters/db/pg-ledger.js";
import { captureOf, inTransaction, settlementDatabaseUrl, testDeps, uniqueMerchant } from "./ledger-test-env.js";

let pool: pg.Pool;
const deps = testDeps();
beforeAll(() => {
  pool = new pg.Pool({ connectionString: settlementDatabaseUrl(), max: 4 });
});
afterAll(async () => {
  await pool.end();
});

type Op =
  | { readonly kind: "capture"; readonly payment: number }
  | { readonly kind: "reserve" | "post" | "void"; readonly payment: number; readonly refund: number; readonly amountMinor: bigint }
  | { readonly kind: "checkpoint" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("capture" as const), payment: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constantFrom("reserve" as const, "post" as const, "void" as const), payment: fc.integer({ min: 0, max: 2 }), refund: fc.integer({ min: 0, max: 2 }), amountMinor: fc.bigInt({ min: 1n, max: 6000n }) }),
  fc.record({ kind: fc.constant("checkpoint" as const) }),
);

describe("ledger property", () => {
  it("holds for random sequences with duplicates and reorderings", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), fc.array(fc.integer({ min: 0, max: 24 }), { maxLength: 6 }), async (ops, duplicates) => {
        const merchant = uniqueMerchant("prop");
        const base = Date.parse("2026-10-01T00:00:00.000Z");
        const payments = [0, 1, 2].map((i) => captureOf(merchant, BigInt(3000 + 1111 * i), { provider: i === 1 ? "alipay" : "unionpay", at: new Date(base + i * 3_600_000) }));
        // Duplicates: ops repeated later in the sequence (same cause, possibly a new event id).
        const sequence = [...ops, ...duplicates.filter((i) => i < ops.length).map((i) => ops[i]!)];
        let step = 0;
        for (const op of sequence) {
          step += 1;
          const at = new Date(base + 10 * 3_600_000 + step * 60_000);
          if (op.kind === "checkpoint") {
            await takeCheckpoint(pool);
            continue;
          }
          const payment = payments[op.payment]!;
          if (op.kind === "capture") {
            await inTransaction(pool, (tx) => recordCapture(deps, tx, { ...payment, eventId: `e-${step}` }));
            continue;
          }
          const refund = { orderId: payment.orderId, paymentId: payment.paymentId, refundRef: `r-${op.refund}`, amountMinor: op.amountMinor, currency: "CNY" as const, eventId: `e-${step}`, providerRefundId: undefined, at };
          // Expected outcomes (refused, unknown capture, already done) are values, never a broken ledger.
          if (op.kind === "reserve") await inTransaction(pool, (tx) => reserveRefund(deps, tx, refund));
          if (op.kind === "post") await inTransaction(pool, (tx) => recordRefund(deps, tx, refund));
          if (op.kind === "void") await inTransaction(pool, (tx) => voidRefund(tx, { ...refund, reason: "failed" }));
        }

        const { rows: unbalanced } = await pool.query(
          "SELECT entry_id FROM ledger_posting GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0",
        );
        expect(unbalanced).toEqual([]);
        const { rows: totals } = await pool.query<{ s: string }>("SELECT sum(amount_minor) AS s FROM ledger_posting GROUP BY currency");
        for (const row of totals) expect(row.s).toBe("0");
        const { rows: perCause } = await pool.query<{ entry_type: string; payment_id: string; refund_ref: string | null; n: string }>(
          "SELECT entry_type, payment_id, refund_ref, count(*) AS n FROM journal_entry WHERE merchant_id = $1 GROUP BY 1, 2, 3",
          [merchant],
        );
        for (const row of perCause) expect(row.n).toBe("1");
        const { rows: refunded } = await pool.query<{ payment_id: string; refunded: string; captured: string }>(
          `SELECT c.payment_id, COALESCE(sum(r.amount_minor), 0) AS refunded, c.amount_minor AS captured
             FROM journal_entry c LEFT JOIN journal_entry r ON r.payment_id = c.payment_id AND r.entry_type = 'refund_posted'
            WHERE c.merchant_id = $1 AND c.entry_type = 'payment_captured' GROUP BY c.payment_id, c.amount_minor`,
          [merchant],
        );
        for (const row of refunded) expect(BigInt(row.refunded)).toBeLessThanOrEqual(BigInt(row.captured));
        // A voided reservation never became a posted refund, and no reservation has two outcomes.
        const { rows: both } = await pool.query(
          `SELECT e.entry_id FROM journal_entry e JOIN pending_resolution v ON v.pending_entry_id = e.entry_id AND v.outcome = 'voided'
             JOIN journal_entry p ON p.pending_entry_id = e.entry_id WHERE e.merchant_id = $1`,
          [merchant],
        );
        expect(both).toEqual([]);

        const ids = await listAccountIds(pool, { merchantId: merchant });
        const { rows: postings } = await pool.query<{ account_id: string; amount_minor: string; booked_at: Date }>(
          "SELECT account_id, amount_minor, booked_at FROM ledger_posting WHERE account_id = ANY ($1) AND NOT pending",
          [ids],
        );
        const sumUpTo = (accountId: string, t: number): bigint =>
          postings.filter((p) => p.account_id === accountId && p.booked_at.getTime() <= t).reduce((s, p) => s + BigInt(p.amount_minor), 0n);
        for (const balance of await balancesNow(pool, ids)) expect(balance.postedMinor).toBe(sumUpTo(balance.accountId, Number.MAX_SAFE_INTEGER));
        for (const t of [base - 1, base + 3_600_000, base + 10 * 3_600_000 + 5 * 60_000, base + 10 * 3_600_000 + 20 * 60_000]) {
          for (const balance of await balancesAt(pool, ids, new Date(t))) expect(balance.postedMinor).toBe(sumUpTo(balance.accountId, t));
        }
      }),
      { numRuns: 20 },
    );
  });
});
