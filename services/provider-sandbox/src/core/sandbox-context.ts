import type { FeeSchedule } from "@tributary/money";
import type { Result } from "@tributary/result";
import { BANK_TYPES, decideBuyer, type BuyerBehaviour } from "./buyer-simulator.js";
import type { Clock } from "./clock.js";
import type { FaultInjector } from "./faults.js";
import type { SandboxKeys } from "./keys.js";
import type { NotificationDispatcher } from "./notification-dispatcher.js";
import { acceptRefund, markClosed, markPaid, markRefundSucceeded, type RefundRefusal } from "./payment-lifecycle.js";
import type { Prng } from "./prng.js";
import type { Scheduler } from "./scheduler.js";
import type { PaymentRecord, SandboxProviderName, RefundRecord, TransactionStore } from "./store.js";

/** What a provider module does when a payment or refund it owns changes state. */
export interface ProviderHooks {
  onPaid(payment: PaymentRecord, extraDelayMs: number): void;
  onRefundSucceeded(payment: PaymentRecord, refund: RefundRecord): void;
}

/** Timing knobs shared by all providers (milliseconds). */
export interface SandboxTiming {
  /** How long an unpaid order lives when the request does not say. */
  readonly orderTtlMs: number;
  /** How long after acceptance a refund succeeds. */
  readonly refundDelayMs: number;
  /**
   * How long after the 00:00 Asia/Shanghai cut-off a day's bills can be downloaded. Real
   * providers need hours (WeChat: from 09:00, fetch after 10:00); the default here is 0.
   */
  readonly billReadyAfterMs: number;
  /** Overrides the provider's real notification retry schedule (useful in tests). */
  readonly notifyScheduleMs: Partial<Record<SandboxProviderName, readonly number[]>>;
}

/** Everything a provider module needs; built once per sandbox. */
export interface SandboxContext {
  readonly store: TransactionStore;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly notifier: NotificationDispatcher;
  readonly keys: SandboxKeys;
  readonly timing: SandboxTiming;
  readonly feeSchedules: Readonly<Record<SandboxProviderName, FeeSchedule>>;
  prng(provider: SandboxProviderName): Prng;
  faults(provider: SandboxProviderName): FaultInjector;
  /** The sandbox's own base URL (for download links). */
  baseUrl(): string;
  readonly engine: PaymentEngine;
}

/**
 * Moves payments through their life the same way for every provider: the buyer pays or walks
 * away, unpaid orders expire, refunds succeed after a delay, and the owning provider is told so
 * it can notify the merchant in its own format.
 */
export class PaymentEngine {
  private readonly hooks = new Map<SandboxProviderName, ProviderHooks>();
  private context: SandboxContext | undefined;

  constructor(private buyer: BuyerBehaviour) {}

  /** Completes the wiring once the context exists. */
  bind(context: SandboxContext): void {
    this.context = context;
  }

  /** Registers a provider's hooks. */
  register(provider: SandboxProviderName, hooks: ProviderHooks): void {
    this.hooks.set(provider, hooks);
  }

  /** Replaces the buyer behaviour (control API). */
  setBuyer(buyer: BuyerBehaviour): void {
    this.buyer = buyer;
  }

  private ctx(): SandboxContext {
    if (this.context === undefined) throw new Error("PaymentEngine used before bind()");
    return this.context;
  }

  /** Stores a new order, schedules its expiry and lets the simulated buyer decide. */
  created(payment: PaymentRecord, options: { buyerActs: boolean }): void {
    const ctx = this.ctx();
    ctx.store.insert(payment);
    ctx.scheduler.after(payment.expiresAtMs - ctx.clock.nowMs(), () => this.expire(payment));
    if (!options.buyerActs || this.buyer.mode === "manual") return;
    const decision = decideBuyer(this.buyer, ctx.prng(payment.provider).fork(`buyer:${payment.outTradeNo}`));
    if (decision.kind === "pay") {
      ctx.scheduler.after(decision.afterMs, () => {
        // A declined attempt (insufficient balance, risk control) leaves the order unpaid
        // until it expires, as a failed scan does in life.
        if (ctx.faults(payment.provider).decline()) return;
        this.pay(payment);
      });
    }
  }

  /**
   * The buyer pays now. Returns false when the order is no longer payable (closed or expired:
   * a late buyer is turned away by the provider).
   */
  pay(payment: PaymentRecord, extraNotifyDelayMs = 0): boolean {
    const ctx = this.ctx();
    const now = ctx.clock.nowMs();
    if (payment.status !== "pending" || now >= payment.expiresAtMs) return false;
    const prng = ctx.prng(payment.provider).fork(`pay:${payment.outTradeNo}`);
    const drawnBuyerId = `buyer-${prng.hex(16)}`;
    markPaid(payment, now, ctx.feeSchedules[payment.provider], {
      // A payment created for a named buyer (WeChat JSAPI openid, Alipay trade.create buyer_id) is paid by that buyer.
      buyerId: payment.buyerId ?? drawnBuyerId,
      bankType: BANK_TYPES[prng.int(BANK_TYPES.length)] ?? "OTHERS",
    });
    this.hooks.get(payment.provider)?.onPaid(payment, extraNotifyDelayMs);
    return true;
  }

  /** Closes an unpaid order (merchant close or expiry). */
  close(payment: PaymentRecord): void {
    markClosed(payment, this.ctx().clock.nowMs());
  }

  private expire(payment: PaymentRecord): void {
    if (payment.status === "pending") this.close(payment);
  }

  /** Accepts a refund and schedules its success. */
  refund(
    payment: PaymentRecord,
    request: { outRefundNo: string; providerRefundNo: string; amountMinor: bigint; reason: string | undefined; notifyUrl: string | undefined },
    options: { immediate: boolean },
  ): Result<RefundRecord, RefundRefusal> {
    const ctx = this.ctx();
    const result = acceptRefund(payment, request, ctx.clock.nowMs(), ctx.feeSchedules[payment.provider]);
    if (!result.ok) return result;
    const refund = result.value;
    const succeed = (): void => {
      markRefundSucceeded(refund, ctx.clock.nowMs());
      this.hooks.get(payment.provider)?.onRefundSucceeded(payment, refund);
    };
    if (options.immediate) {
      succeed();
    } else {
      ctx.scheduler.after(ctx.timing.refundDelayMs, succeed);
    }
    return result;
  }
}
