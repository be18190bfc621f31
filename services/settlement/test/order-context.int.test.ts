/**
 * Fees by channel and category, from the order: `OrderAccepted` on orders.v1 tells settlement the
 * order's channel, its (single) category and the merchant's order reference; a capture of that
 * order then takes the provider's matching rule, and its record carries the reference. A capture
 * whose order was never seen takes the provider's default schedule.
 */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Channel, Provider } from "@tributary/contracts/common/v1/provider";
import { OrderAcceptedSchema } from "@tributary/contracts/order/v1/order_events";
import { PaymentCapturedSchema } from "@tributary/contracts/payment/v1/payment_events";
import { newEventId } from "@tributary/events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { streamRecords } from "../src/adapters/db/pg-records.js";
import { DEFAULT_FEE_TERMS, type FeeTerms } from "../src/domain/fee-terms.js";
import { uniqueMerchant } from "./ledger-test-env.js";
import { startSettlementTestEnv, type SettlementTestEnv } from "./settlement-test-env.js";

const terms: FeeTerms = {
  ...DEFAULT_FEE_TERMS,
  providers: {
    ...DEFAULT_FEE_TERMS.providers,
    alipay: {
      defaultSchedule: { ratePpm: 6000n, fixedMinor: 0n, rounding: "half_up" },
      rules: [{ channel: "app", category: "games", schedule: { ratePpm: 10000n, fixedMinor: 10n, rounding: "up" } }],
    },
  },
};
let env: SettlementTestEnv;
beforeAll(async () => {
  env = await startSettlementTestEnv({ terms });
});
afterAll(async () => {
  await env.stop();
});

function capture(merchantId: string, orderId: string, at: Date) {
  return {
    paymentId: `pay-${newEventId()}`, orderId, merchantId, provider: Provider.ALIPAY, providerTransactionId: `2088${newEventId().slice(-10)}`,
    amount: { currency: "CNY", amountMinor: 1234n }, capturedAt: timestampFromDate(at),
  };
}

describe("order context", () => {
  it("applies the channel × category rule to the order's capture, and the default without an order", async () => {
    const merchant = uniqueMerchant("ctx");
    const orderId = `order-${newEventId()}`;
    const accepted = await env.publish("orders.v1", orderId, OrderAcceptedSchema, {
      order: {
        orderId, merchantId: merchant, merchantOrderRef: "SHOP-2025-0001", channel: Channel.APP,
        lines: [{ sku: "GEMS-100", category: "games", quantity: 1n, unitPrice: { currency: "CNY", amountMinor: 1234n } }],
        total: { currency: "CNY", amountMinor: 1234n },
      },
    });
    await env.applied(env.ordersGroupId, accepted);
    const at = new Date("2025-12-20T10:00:00.000+08:00");
    const withOrder = await env.publish("payments.v1", orderId, PaymentCapturedSchema, capture(merchant, orderId, at));
    const strangerOrder = `order-${newEventId()}`;
    const withoutOrder = await env.publish("payments.v1", strangerOrder, PaymentCapturedSchema, capture(merchant, strangerOrder, at));
    await env.applied(env.paymentsGroupId, withOrder);
    await env.applied(env.paymentsGroupId, withoutOrder);
    const { rows } = await env.pool.query<{ order_id: string; provider_fee_minor: string; fee_rate_ppm: string }>(
      "SELECT order_id, provider_fee_minor, fee_rate_ppm FROM journal_entry WHERE merchant_id = $1",
      [merchant],
    );
    // 1.00 % of 12.34 rounded up = 0.13, plus 0.10 fixed; the default 0.60 % half-up = 0.07.
    expect(rows.find((r) => r.order_id === orderId)).toMatchObject({ provider_fee_minor: "23", fee_rate_ppm: "10000" });
    expect(rows.find((r) => r.order_id === strangerOrder)).toMatchObject({ provider_fee_minor: "7", fee_rate_ppm: "6000" });
    const records = [];
    for await (const page of streamRecords(env.pool, { provider: "alipay", businessDate: "2025-12-20" })) records.push(...page.filter((r) => r.merchantId === merchant));
    expect(records.map((r) => r.merchantOrderRef).sort()).toEqual(["", "SHOP-2025-0001"]);
  });
});
