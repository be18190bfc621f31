import { describe, expect, it } from "vitest";
import { decidePayout, payoutEntry } from "./payout.js";
import type { BatchStatus, SettlementBatch } from "./settlement-batch.js";

const batch = (status: BatchStatus, payableMinor: bigint): SettlementBatch => ({
  batchId: "b-1", merchantId: "m-1", provider: "alipay", businessDate: "2025-01-01", settlementDate: "2025-01-02", currency: "CNY",
  status, closedAt: new Date(0), reconciliationId: undefined, discrepancyCount: status === "held" ? 2n : undefined,
  paymentCount: 1n, refundCount: 0n, grossMinor: 10000n, refundsMinor: 0n, providerFeesMinor: 60n, merchantProviderFeesMinor: 60n,
  platformFeesMinor: 50n, adjustmentsMinor: 0n, reserveWithheldMinor: 0n, reserveReleasedMinor: 0n, carriedInMinor: 0n,
  netMinor: payableMinor === 0n ? -5n : payableMinor, payableMinor, carriedForwardMinor: payableMinor === 0n ? -5n : 0n,
});
const command = { accountReference: "ACC-1", instructedBy: "op", at: new Date(1000), payoutId: "p-1", entryId: "e-1" };

describe("decidePayout", () => {
  it("pays a reconciled batch its payable net to the configured account", () => {
    expect(decidePayout(batch("reconciled", 9890n), command)).toEqual({
      ok: true,
      value: { payoutId: "p-1", entryId: "e-1", batchId: "b-1", amountMinor: 9890n, accountReference: "ACC-1", instructedBy: "op", instructedAt: new Date(1000) },
    });
  });

  it("refuses held, closed, nothing to pay and a missing or blank account", () => {
    expect(decidePayout(batch("held", 9890n), command)).toMatchObject({ ok: false, error: { code: "batch_held" } });
    expect(decidePayout(batch("closed", 9890n), command)).toMatchObject({ ok: false, error: { code: "batch_not_reconciled" } });
    expect(decidePayout(batch("reconciled", 0n), command)).toMatchObject({ ok: false, error: { code: "nothing_to_pay" } });
    expect(decidePayout(batch("reconciled", 9890n), { ...command, accountReference: undefined })).toMatchObject({ ok: false, error: { code: "payout_account_missing" } });
    expect(decidePayout(batch("reconciled", 9890n), { ...command, accountReference: "  " })).toMatchObject({ ok: false, error: { code: "payout_account_missing" } });
  });

  it("crashes on a batch marked paid out without its payout (a broken invariant, not an outcome)", () => {
    expect(() => decidePayout(batch("paid_out", 9890n), command)).toThrow(/without a payout/);
  });
});

describe("payoutEntry", () => {
  it("debits merchant payable and credits payout clearing by the amount, once per batch", () => {
    const b = batch("reconciled", 9890n);
    const decided = decidePayout(b, command);
    if (!decided.ok) throw new Error(decided.error.message);
    const entry = payoutEntry(b, decided.value);
    expect(entry.sourceKey).toBe("payout:b-1");
    expect(entry.approvedBy).toBe("op");
    expect(entry.postings).toEqual([
      { account: { kind: "merchant_payable", merchantId: "m-1", currency: "CNY" }, amountMinor: 9890n, lineType: "payout" },
      { account: { kind: "payout_clearing", currency: "CNY" }, amountMinor: -9890n, lineType: "payout" },
    ]);
  });
});
