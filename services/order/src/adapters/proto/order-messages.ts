import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { channelIdFromProto, channelIdToProto, providerIdFromProto, providerIdToProto } from "@tributary/contracts";
import { type Money as ProtoMoney, MoneySchema } from "@tributary/contracts/common/v1/money";
import { Channel as ProtoChannel, Provider as ProtoProvider } from "@tributary/contracts/common/v1/provider";
import {
  type Buyer as ProtoBuyer,
  type OrderLine as ProtoOrderLine,
  OrderSchema,
  OrderStatus as ProtoOrderStatus,
  type Order as ProtoOrder,
} from "@tributary/contracts/order/v1/order";
import type { Money } from "@tributary/money";
import { assertNever } from "@tributary/result";
import type { Channel, Order, OrderStatus, PaymentProvider } from "../../domain/order.js";
import type { MoneyInput, PlaceOrderInput } from "../../domain/place-order-input.js";

/** Proto channel → our name; `""` when unset, `unknown(n)` for a number the contract lacks. */
export function channelName(channel: ProtoChannel): string {
  if (channel === ProtoChannel.UNSPECIFIED) return "";
  return channelIdFromProto(channel) ?? `unknown(${String(channel)})`;
}

/** Our channel → proto (the contracts' channel table). */
export function channelToProto(channel: Channel): ProtoChannel {
  return channelIdToProto(channel);
}

/** Proto provider → our name; `""` when unset (no preference), `unknown(n)` otherwise. */
export function providerName(provider: ProtoProvider): string {
  if (provider === ProtoProvider.UNSPECIFIED) return "";
  return providerIdFromProto(provider) ?? `unknown(${String(provider)})`;
}

/** Our provider → proto; UNSPECIFIED for no preference. */
export function providerToProto(provider: PaymentProvider | undefined): ProtoProvider {
  return provider === undefined ? ProtoProvider.UNSPECIFIED : providerIdToProto(provider);
}

/** Proto order status → our name; `""` for UNSPECIFIED, `unknown(n)` otherwise. */
export function statusName(status: ProtoOrderStatus): string {
  switch (status) {
    case ProtoOrderStatus.UNSPECIFIED:
      return "";
    case ProtoOrderStatus.ACCEPTED:
      return "accepted";
    case ProtoOrderStatus.PAID:
      return "paid";
    case ProtoOrderStatus.PAYMENT_FAILED:
      return "payment_failed";
    case ProtoOrderStatus.CANCELLED:
      return "cancelled";
    case ProtoOrderStatus.PARTIALLY_REFUNDED:
      return "partially_refunded";
    case ProtoOrderStatus.REFUNDED:
      return "refunded";
    default:
      return `unknown(${String(status)})`;
  }
}

/** Our status → proto. */
export function statusToProto(status: OrderStatus): ProtoOrderStatus {
  switch (status) {
    case "accepted":
      return ProtoOrderStatus.ACCEPTED;
    case "paid":
      return ProtoOrderStatus.PAID;
    case "payment_failed":
      return ProtoOrderStatus.PAYMENT_FAILED;
    case "cancelled":
      return ProtoOrderStatus.CANCELLED;
    case "partially_refunded":
      return ProtoOrderStatus.PARTIALLY_REFUNDED;
    case "refunded":
      return ProtoOrderStatus.REFUNDED;
    default:
      return assertNever(status, "order status");
  }
}

/** A proto amount as unvalidated input; `undefined` when the field was absent. */
export function moneyInput(amount: ProtoMoney | undefined): MoneyInput | undefined {
  return amount === undefined ? undefined : { currency: amount.currency, amountMinor: amount.amountMinor };
}

/** Our amount → proto. */
export function moneyToProto(amount: Money): ProtoMoney {
  return create(MoneySchema, { currency: amount.currency, amountMinor: amount.amountMinor });
}

/** The fields `CreateOrderRequest` and `OrderPlaced` share, by the same names. */
export interface PlaceOrderFields {
  readonly merchantId: string;
  readonly merchantOrderRef: string;
  readonly buyer?: ProtoBuyer | undefined;
  readonly lines: readonly ProtoOrderLine[];
  readonly total?: ProtoMoney | undefined;
  readonly channel: ProtoChannel;
  readonly preferredProvider: ProtoProvider;
}

/**
 * A `CreateOrderRequest` or an `OrderPlaced` as unvalidated domain input: both go through the
 * same validation, so the gRPC API and the Kafka intake accept and refuse exactly the same orders.
 */
export function toPlaceOrderInput(message: PlaceOrderFields): PlaceOrderInput {
  return {
    merchantId: message.merchantId,
    merchantOrderRef: message.merchantOrderRef,
    buyer:
      message.buyer === undefined
        ? undefined
        : {
            buyerId: message.buyer.buyerId,
            country: message.buyer.country,
            providerAccounts: message.buyer.providerAccounts.map((a) => ({ provider: providerName(a.provider), accountId: a.accountId })),
          },
    lines: message.lines.map((line) => ({
      sku: line.sku,
      category: line.category,
      quantity: line.quantity,
      unitPrice: moneyInput(line.unitPrice),
    })),
    total: moneyInput(message.total),
    channel: channelName(message.channel),
    preferredProvider: providerName(message.preferredProvider),
  };
}

/** Our order → the contract's `Order`, for responses and `OrderAccepted`. */
export function toOrderMessage(order: Order): ProtoOrder {
  const init: MessageInitShape<typeof OrderSchema> = {
    orderId: order.orderId,
    merchantId: order.merchantId,
    merchantOrderRef: order.merchantOrderRef,
    buyer: {
      buyerId: order.buyer.buyerId,
      country: order.buyer.country ?? "",
      providerAccounts: order.buyer.providerAccounts.map((a) => ({ provider: providerIdToProto(a.provider), accountId: a.accountId })),
    },
    lines: order.lines.map((line) => ({
      sku: line.sku,
      category: line.category,
      quantity: line.quantity,
      unitPrice: moneyToProto(line.unitPrice),
    })),
    total: moneyToProto(order.total),
    channel: channelToProto(order.channel),
    preferredProvider: providerToProto(order.preferredProvider),
    status: statusToProto(order.status),
    paid: moneyToProto(order.paid),
    refunded: moneyToProto(order.refunded),
    createdAt: timestampFromDate(order.createdAt),
    updatedAt: timestampFromDate(order.updatedAt),
  };
  return create(OrderSchema, init);
}

/** An optional proto timestamp as a Date. */
export function optionalDate(timestamp: Timestamp | undefined): Date | undefined {
  return timestamp === undefined ? undefined : timestampDate(timestamp);
}
