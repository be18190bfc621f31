/**
 * What the sandbox has processed: payments and their refunds, per provider, in bigint fen. The
 * APIs write here, the buyer simulator moves payments along, and the bill writers read from here,
 * so a bill can only ever contain what the sandbox really did.
 */
import { PROVIDER_IDS, sandboxProviderName, type SandboxProviderName } from "@tributary/contracts";

/** The sandbox's short name for a provider (`wechat`, `jdpay`, …), from the contracts' provider table. */
export type { SandboxProviderName };

/** Every provider the sandbox plays, by its short name, in the contracts' fixed order. */
export const SANDBOX_PROVIDER_NAMES: readonly SandboxProviderName[] = PROVIDER_IDS.map(sandboxProviderName);

/** The life of a payment as the provider sees it. */
export type PaymentStatus = "pending" | "paid" | "closed";

/** One payment order as the provider stores it. */
export interface PaymentRecord {
  readonly provider: SandboxProviderName;
  readonly outTradeNo: string;
  /** The provider's own id: Alipay trade_no, WeChat transaction_id, UnionPay queryId, … */
  readonly providerTradeNo: string;
  readonly amountMinor: bigint;
  readonly currency: "CNY";
  readonly subject: string;
  /** Channel / trade type in the provider's words: NATIVE, JSAPI, APP, QR, BARCODE, … */
  readonly tradeType: string;
  readonly notifyUrl: string | undefined;
  readonly attach: string | undefined;
  readonly createdAtMs: number;
  /** Unpaid orders close at this instant (the provider's order expiry). */
  readonly expiresAtMs: number;
  /** Provider-specific request fields kept for echoing back (appid, txnTime, …). */
  readonly extra: Readonly<Record<string, string>>;
  status: PaymentStatus;
  paidAtMs: number | undefined;
  closedAtMs: number | undefined;
  /** When the provider books the payment for its bill; normally `paidAtMs`. */
  bookedAtMs: number | undefined;
  buyerId: string | undefined;
  bankType: string | undefined;
  feeMinor: bigint | undefined;
  readonly refunds: RefundRecord[];
}

/** What a provider API knows when it creates a payment; the rest starts empty. */
export type NewPayment = Omit<
  PaymentRecord,
  "status" | "paidAtMs" | "closedAtMs" | "bookedAtMs" | "buyerId" | "bankType" | "feeMinor" | "refunds"
>;

/** A payment as every provider creates it: pending, unpaid, no fee, no refunds. */
export function pendingPayment(fields: NewPayment): PaymentRecord {
  return {
    ...fields,
    status: "pending",
    paidAtMs: undefined,
    closedAtMs: undefined,
    bookedAtMs: undefined,
    buyerId: undefined,
    bankType: undefined,
    feeMinor: undefined,
    refunds: [],
  };
}

/** The life of a refund: accepted, then successful. */
export type RefundStatus = "processing" | "success";

/** One refund against a payment. */
export interface RefundRecord {
  readonly outRefundNo: string;
  readonly providerRefundNo: string;
  readonly amountMinor: bigint;
  /** The part of the original fee given back (non-negative; bills show it negated). */
  readonly feeReturnedMinor: bigint;
  readonly reason: string | undefined;
  readonly notifyUrl: string | undefined;
  readonly createdAtMs: number;
  status: RefundStatus;
  successAtMs: number | undefined;
}

/** An in-memory store of payments keyed by provider and merchant order number. */
export class TransactionStore {
  private readonly byOutTradeNo = new Map<string, PaymentRecord>();
  private readonly byProviderTradeNo = new Map<string, PaymentRecord>();

  /** Adds a new payment; the caller has checked that the order number is free. */
  insert(payment: PaymentRecord): void {
    const key = `${payment.provider}:${payment.outTradeNo}`;
    if (this.byOutTradeNo.has(key)) {
      throw new Error(`duplicate payment ${key}`);
    }
    this.byOutTradeNo.set(key, payment);
    this.byProviderTradeNo.set(`${payment.provider}:${payment.providerTradeNo}`, payment);
  }

  /** Looks a payment up by the merchant's order number. */
  byOutTrade(provider: SandboxProviderName, outTradeNo: string): PaymentRecord | undefined {
    return this.byOutTradeNo.get(`${provider}:${outTradeNo}`);
  }

  /** Looks a payment up by the provider's own id. */
  byProviderTrade(provider: SandboxProviderName, providerTradeNo: string): PaymentRecord | undefined {
    return this.byProviderTradeNo.get(`${provider}:${providerTradeNo}`);
  }

  /** Finds a refund (and its payment) by the merchant's refund number. */
  refundByOutRefundNo(
    provider: SandboxProviderName,
    outRefundNo: string,
  ): { payment: PaymentRecord; refund: RefundRecord } | undefined {
    for (const payment of this.byOutTradeNo.values()) {
      if (payment.provider !== provider) continue;
      const refund = payment.refunds.find((r) => r.outRefundNo === outRefundNo);
      if (refund !== undefined) return { payment, refund };
    }
    return undefined;
  }

  /** All payments of one provider, in creation order. */
  list(provider: SandboxProviderName): PaymentRecord[] {
    return [...this.byOutTradeNo.values()].filter((p) => p.provider === provider);
  }
}

/** The sum of the refunds already taken against a payment, in fen. */
export function refundedMinor(payment: PaymentRecord): bigint {
  return payment.refunds.reduce((total, r) => total + r.amountMinor, 0n);
}
