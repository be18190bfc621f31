/**
 * Fees exact to the fen, against the provider's own bill: payments and refunds are made at the
 * provider sandbox's JD Pay API (HMAC-signed HTTP), the sandbox's daily bill is downloaded and
 * parsed, and the same payments and refunds go through Kafka (`payments.v1`) into the settlement
 * service. For every bill row the fee the ledger computed from its own schedules — not the fee the
 * event carried — equals the bill's fee, and so do the totals.
 */
import { randomBytes } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { PaymentCapturedSchema, PaymentRefundedSchema } from "@tributary/contracts/payment/v1/payment_events";
import { hmacRequestMessage, hmacSign, manualClock, startSandbox, type ManualClock, type RunningSandbox } from "@tributary/provider-sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSettlementTestEnv, type SettlementTestEnv } from "./settlement-test-env.js";
import { uniqueMerchant } from "./ledger-test-env.js";

// 2026-11-20 10:00 Asia/Shanghai.
const DAY = "2026-11-20";
const START_MS = Date.parse("2026-11-20T02:00:00.000Z");

let sandbox: RunningSandbox;
let clock: ManualClock;
let env: SettlementTestEnv;

async function jd(method: "GET" | "POST", path: string, body?: object): Promise<{ status: number; text: string }> {
  const creds = sandbox.providers.jdpay;
  const pathAndQuery = `/jdpay/v1${path}`;
  const text = body === undefined ? "" : JSON.stringify(body);
  const timestamp = String(Math.floor(clock.nowMs() / 1000));
  const nonce = randomBytes(16).toString("hex");
  const response = await fetch(`${sandbox.url}${pathAndQuery}`, {
    method,
    headers: {
      "content-type": "application/json",
      "X-Sandbox-Merchant-Id": creds.merchantId,
      "X-Sandbox-Timestamp": timestamp,
      "X-Sandbox-Nonce": nonce,
      "X-Sandbox-Signature": hmacSign(hmacRequestMessage(method, pathAndQuery, timestamp, nonce, text), creds.secret),
    },
    ...(body === undefined ? {} : { body: text }),
  });
  return { status: response.status, text: await response.text() };
}

interface BillRow {
  readonly recordType: string;
  readonly providerTradeNo: string;
  readonly providerRefundNo: string;
  readonly amountMinor: bigint;
  readonly feeMinor: bigint;
}

/** The sandbox's generic bill: `#` lines, a header row, then one CSV row per payment or refund. */
function parseBill(text: string): { rows: BillRow[]; totalFeeMinor: bigint } {
  const lines = text.split("\n").filter((line) => line !== "");
  const header = lines.find((line) => !line.startsWith("#"))!.split(",");
  const col = (name: string): number => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`bill has no ${name} column`);
    return index;
  };
  const rows = lines
    .filter((line) => !line.startsWith("#"))
    .slice(1)
    .map((line) => line.split(","))
    .map((cells) => ({
      recordType: cells[col("record_type")]!,
      providerTradeNo: cells[col("provider_trade_no")]!,
      providerRefundNo: cells[col("provider_refund_no")]!,
      amountMinor: BigInt(cells[col("amount_minor")]!),
      feeMinor: BigInt(cells[col("fee_minor")]!),
    }));
  const totals = lines.find((line) => line.startsWith("#totals"));
  const fee = /fee_minor=(-?\d+)/.exec(totals ?? "");
  if (fee === null) throw new Error("bill has no totals line");
  return { rows, totalFeeMinor: BigInt(fee[1]!) };
}

beforeAll(async () => {
  clock = manualClock(START_MS);
  sandbox = await startSandbox({ clock, seed: "settlement-fees", buyer: { payProbability: 0, lateProbability: 0 }, timing: { refundDelayMs: 0 } });
  env = await startSettlementTestEnv();
});

afterAll(async () => {
  await env.stop();
  await sandbox.stop();
});

describe("the ledger's fees equal the sandbox bill's, to the fen", () => {
  it("for payments and partial and full refunds whose fees round every way", async () => {
    const merchant = uniqueMerchant("jd-bill");
    // 0.60 % half-up: 1299.02 → 7.79; 0.01 → 0; 2.50 → 0.015 → 0.02; 0.83 → 0.00498 → 0; 123.45 → 0.7407 → 0.74;
    // 999.99 → 5.99994 → 6.00; 41.67 → 0.25002 → 0.25; 0.50 → 0.003 → 0; 0.84 → 0.00504 → 0.01.
    const amounts = [129902n, 1n, 250n, 83n, 12345n, 99999n, 4167n, 50n, 84n];
    const refunds: Record<number, bigint[]> = { 0: [29902n, 100000n], 2: [125n], 4: [1n, 12344n], 5: [33333n, 33333n, 33333n], 6: [4167n], 8: [42n] };
    const prefix = `S${randomBytes(4).toString("hex")}`;
    const outTradeNos = amounts.map((_, i) => `${prefix}-${i}`);
    for (const [i, amountMinor] of amounts.entries()) {
      const created = await jd("POST", "/payments", { outTradeNo: outTradeNos[i], amountMinor: amountMinor.toString(), subject: "settlement fee test" });
      expect(created.status).toBe(201);
      clock.advance(1000);
      expect(sandbox.pay("jdpay", outTradeNos[i]!)).toBe(true);
    }
    for (const [index, parts] of Object.entries(refunds)) {
      for (const [n, amountMinor] of parts.entries()) {
        clock.advance(1000);
        const refund = await jd("POST", "/refunds", { outTradeNo: outTradeNos[Number(index)], outRefundNo: `${outTradeNos[Number(index)]}-R${n}`, amountMinor: amountMinor.toString() });
        expect(refund.status).toBe(201);
      }
    }
    // Let the refunds succeed (the sandbox completes them on a timer), then end the day.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const records = sandbox.transactions("jdpay").filter((p) => p.outTradeNo.startsWith(prefix));
    expect(records.flatMap((p) => p.refunds).every((r) => r.status === "success")).toBe(true);
    clock.set(Date.parse("2026-11-20T17:00:00.000Z")); // 01:00 on the 21st in Shanghai
    const billResponse = await jd("GET", `/bills/${DAY}`);
    expect(billResponse.status).toBe(200);
    const bill = parseBill(billResponse.text);

    // The same payments and refunds, as payment-routing publishes them. The event's fee field is
    // deliberately wrong (1 fen): the ledger must compute fees from its own schedules.
    const lastEventIds: string[] = [];
    for (const [i, record] of records.entries()) {
      const orderId = `order-${prefix}-${i}`;
      // The last event of every key is waited for below: the capture when there is no refund.
      let last = await env.publish("payments.v1", orderId, PaymentCapturedSchema, {
        paymentId: `pay-${prefix}-${i}`,
        orderId,
        merchantId: merchant,
        provider: Provider.JD_PAY,
        providerTransactionId: record.providerTradeNo,
        amount: { currency: "CNY", amountMinor: record.amountMinor },
        fee: { currency: "CNY", amountMinor: 1n },
        capturedAt: timestampFromDate(new Date(record.paidAtMs!)),
      });
      for (const refund of record.refunds) {
        last = await env.publish("payments.v1", orderId, PaymentRefundedSchema, {
          paymentId: `pay-${prefix}-${i}`,
          orderId,
          merchantId: merchant,
          provider: Provider.JD_PAY,
          refundRef: refund.outRefundNo,
          providerRefundId: refund.providerRefundNo,
          amount: { currency: "CNY", amountMinor: refund.amountMinor },
          feeReturned: { currency: "CNY", amountMinor: 0n },
          refundedAt: timestampFromDate(new Date(refund.createdAtMs)),
        });
      }
      lastEventIds.push(last);
    }
    // Per key (order) the events apply in order; the last of each key is enough to wait for.
    for (const eventId of lastEventIds) await env.applied(env.paymentsGroupId, eventId);
    const { rows } = await env.pool.query<{ entry_type: string; provider_reference: string; amount_minor: string; provider_fee_minor: string; reported_fee_minor: string | null }>(
      "SELECT entry_type, provider_reference, amount_minor, provider_fee_minor, reported_fee_minor FROM journal_entry WHERE merchant_id = $1 AND entry_type IN ('payment_captured', 'refund_posted')",
      [merchant],
    );
    const ledgerFee = new Map(rows.map((r) => [r.provider_reference, BigInt(r.provider_fee_minor)]));
    const ledgerAmount = new Map(rows.map((r) => [r.provider_reference, BigInt(r.amount_minor)]));
    const ours = bill.rows.filter((row) => records.some((r) => r.providerTradeNo === row.providerTradeNo));
    expect(ours.length).toBe(amounts.length + Object.values(refunds).flat().length);
    expect(rows.length).toBe(ours.length);
    let billNetFee = 0n;
    let ledgerNetFee = 0n;
    for (const row of ours) {
      const reference = row.recordType === "PAYMENT" ? row.providerTradeNo : row.providerRefundNo;
      // The bill shows refund amounts and returned fees negative; the ledger keeps both positive.
      const sign = row.recordType === "PAYMENT" ? 1n : -1n;
      expect({ reference, fee: ledgerFee.get(reference), amount: ledgerAmount.get(reference) }).toEqual({
        reference,
        fee: sign * row.feeMinor,
        amount: sign * row.amountMinor,
      });
      billNetFee += row.feeMinor;
      ledgerNetFee += sign * ledgerFee.get(reference)!;
    }
    expect(ledgerNetFee).toBe(billNetFee);
    // This sandbox instance served only this test, so the bill's own total is ours too.
    expect(bill.totalFeeMinor).toBe(billNetFee);
    // A full refund (at once or in parts) gives back exactly the original fee.
    expect(rows.find((r) => r.reported_fee_minor !== null)?.reported_fee_minor).toBe("1");
  });
});
