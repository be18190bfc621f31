import { create } from "@bufbuild/protobuf";
import { Provider } from "@tributary/contracts/common/v1/provider";
import {
  PaymentCapturedSchema,
  PaymentFailedSchema,
  PaymentRefundedSchema,
  PaymentRoutedSchema,
  RefundFailedSchema,
} from "@tributary/contracts/payment/v1/payment_events";
import { isNonRetryableError } from "@tributary/events";
import { describe, expect, it } from "vitest";
import { paymentOutcomeOf } from "./payments-consumer.js";

const orderId = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

describe("paymentOutcomeOf", () => {
  it("maps each payments.v1 event to the order command it implies", () => {
    expect(
      paymentOutcomeOf(
        create(PaymentCapturedSchema, { orderId, paymentId: "p", amount: { currency: "CNY", amountMinor: 10n } }),
      ),
    ).toEqual({ orderId, outcome: { type: "record_payment_captured", paymentId: "p", amount: { currency: "CNY", amountMinor: 10n } } });
    expect(
      paymentOutcomeOf(create(PaymentFailedSchema, { orderId, paymentId: "p", reasonCode: "declined", providerMessage: "card lost" })),
    ).toEqual({ orderId, outcome: { type: "record_payment_failed", paymentId: "p", reason: "declined: card lost" } });
    expect(
      paymentOutcomeOf(
        create(PaymentRefundedSchema, { orderId, refundRef: "r", amount: { currency: "CNY", amountMinor: 5n } }),
      ),
    ).toEqual({ orderId, outcome: { type: "record_refund_completed", refundRef: "r", amount: { currency: "CNY", amountMinor: 5n } } });
    expect(paymentOutcomeOf(create(RefundFailedSchema, { orderId, refundRef: "r", reasonCode: "closed" }))).toEqual({
      orderId,
      outcome: { type: "record_refund_failed", refundRef: "r", reason: "closed" },
    });
    expect(paymentOutcomeOf(create(PaymentRoutedSchema, { orderId, provider: Provider.ALIPAY }))).toBeUndefined();
  });

  it.each([
    ["no amount", undefined],
    ["an unknown currency", { currency: "XYZ", amountMinor: 10n }],
    ["a zero amount", { currency: "CNY", amountMinor: 0n }],
  ] as const)(
    "refuses a capture with %s as never retryable",
    (_label, amount) => {
      const message = create(PaymentCapturedSchema, { orderId, paymentId: "p", ...(amount === undefined ? {} : { amount }) });
      let thrown: unknown;
      try {
        paymentOutcomeOf(message);
      } catch (error) {
        thrown = error;
      }
      expect(isNonRetryableError(thrown)).toBe(true);
    },
  );
});
