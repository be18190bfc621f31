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

const capturedFields = {
  orderId,
  paymentId: "p",
  merchantId: "m-1",
  provider: Provider.WECHAT_PAY,
  providerTransactionId: "wx-1",
  amount: { currency: "CNY", amountMinor: 10n },
};

/** The error `paymentOutcomeOf` throws for the message, or undefined when it does not throw. */
function refusal(message: Parameters<typeof paymentOutcomeOf>[0]): unknown {
  try {
    paymentOutcomeOf(message);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("paymentOutcomeOf", () => {
  it("maps each payments.v1 event to the order command it implies", () => {
    expect(paymentOutcomeOf(create(PaymentCapturedSchema, capturedFields))).toEqual({
      orderId,
      outcome: {
        type: "record_payment_captured",
        paymentId: "p",
        merchantId: "m-1",
        provider: "wechat_pay",
        providerTransactionId: "wx-1",
        amount: { currency: "CNY", amountMinor: 10n },
      },
    });
    expect(paymentOutcomeOf(create(PaymentCapturedSchema, { ...capturedFields, providerTransactionId: "" }))).toMatchObject({
      outcome: { providerTransactionId: undefined },
    });
    expect(
      paymentOutcomeOf(create(PaymentFailedSchema, { orderId, paymentId: "p", reasonCode: "declined", providerMessage: "card lost" })),
    ).toEqual({ orderId, outcome: { type: "record_payment_failed", paymentId: "p", reason: "declined: card lost" } });
    expect(
      paymentOutcomeOf(
        create(PaymentRefundedSchema, { orderId, paymentId: "p", refundRef: "r", amount: { currency: "CNY", amountMinor: 5n } }),
      ),
    ).toEqual({ orderId, outcome: { type: "record_refund_completed", refundRef: "r", amount: { currency: "CNY", amountMinor: 5n } } });
    expect(paymentOutcomeOf(create(RefundFailedSchema, { orderId, paymentId: "p", refundRef: "r", reasonCode: "closed" }))).toEqual({
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
      const { amount: _valid, ...withoutAmount } = capturedFields;
      const message = create(PaymentCapturedSchema, { ...withoutAmount, ...(amount === undefined ? {} : { amount }) });
      expect(isNonRetryableError(refusal(message))).toBe(true);
    },
  );

  it.each([
    ["PaymentCaptured", create(PaymentCapturedSchema, { ...capturedFields, paymentId: "" }), "paymentId"],
    ["PaymentCaptured", create(PaymentCapturedSchema, { ...capturedFields, merchantId: "" }), "merchantId"],
    ["PaymentCaptured", create(PaymentCapturedSchema, { ...capturedFields, provider: Provider.UNSPECIFIED }), "provider"],
    ["PaymentCaptured", create(PaymentCapturedSchema, { ...capturedFields, orderId: "" }), "orderId"],
    ["PaymentFailed", create(PaymentFailedSchema, { orderId, paymentId: "", reasonCode: "declined" }), "paymentId"],
    ["PaymentFailed", create(PaymentFailedSchema, { orderId, paymentId: "p" }), "reasonCode"],
    ["PaymentRefunded", create(PaymentRefundedSchema, { orderId, paymentId: "p", amount: { currency: "CNY", amountMinor: 5n } }), "refundRef"],
    ["RefundFailed", create(RefundFailedSchema, { orderId, refundRef: "r", reasonCode: "closed" }), "paymentId"],
  ] as const)("refuses a %s with an empty %s as never retryable, naming the field", (eventName, message, field) => {
    const thrown = refusal(message);
    expect(isNonRetryableError(thrown)).toBe(true);
    expect((thrown as Error).message).toBe(`missing_required_fields: ${field} empty in tributary.payment.v1.${eventName}`);
  });

  it("names every empty field at once", () => {
    const thrown = refusal(create(PaymentCapturedSchema, { orderId, amount: capturedFields.amount }));
    expect((thrown as Error).message).toBe(
      "missing_required_fields: paymentId, merchantId, provider empty in tributary.payment.v1.PaymentCaptured",
    );
  });
});
