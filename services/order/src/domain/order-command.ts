import type { Money } from "@tributary/money";
import type { OrderDraft, PaymentProvider } from "./order.js";

/**
 * Everything that can be asked of an order. `at` is the caller's clock reading and `orderId` of
 * `place_order` comes from the caller's id generator, so {@link decide} stays pure.
 */
export type OrderCommand =
  | { readonly type: "place_order"; readonly orderId: string; readonly draft: OrderDraft; readonly at: Date }
  | {
      readonly type: "record_payment_captured";
      /** The order the capture names; it may not exist, and the money must still find an owner. */
      readonly orderId: string;
      readonly paymentId: string;
      readonly merchantId: string;
      readonly provider: PaymentProvider;
      readonly providerTransactionId: string | undefined;
      readonly amount: Money;
      readonly at: Date;
    }
  | { readonly type: "record_payment_failed"; readonly paymentId: string; readonly reason: string; readonly at: Date }
  | { readonly type: "cancel_order"; readonly reason: string; readonly at: Date }
  | {
      readonly type: "request_refund";
      readonly refundRef: string;
      readonly amount: Money;
      readonly reason: string;
      readonly at: Date;
    }
  | { readonly type: "record_refund_completed"; readonly refundRef: string; readonly amount: Money; readonly at: Date }
  | { readonly type: "record_refund_failed"; readonly refundRef: string; readonly reason: string; readonly at: Date };

/** The command names, for messages and exhaustive tests. */
export type OrderCommandType = OrderCommand["type"];
