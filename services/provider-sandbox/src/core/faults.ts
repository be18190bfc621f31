import type { Prng } from "./prng.js";

/**
 * Fault injection for one provider. Each rate is a probability in [0, 1] drawn per request or
 * per notification from the provider's own seeded stream, so a run is reproducible.
 */
export interface ProviderFaults {
  /** Payment creation / barcode pay refused with the provider's decline error. */
  readonly declineRate?: number;
  /** The request is processed but no response comes back; the socket closes after `timeoutMs`. */
  readonly timeoutRate?: number;
  readonly timeoutMs?: number;
  /** The provider answers 5xx (or its system-error shape) without processing. */
  readonly serverErrorRate?: number;
  /** The response is delayed by `slowMs`. */
  readonly slowRate?: number;
  readonly slowMs?: number;
  /** A notification is never sent. */
  readonly lostNotifyRate?: number;
  /** A notification is sent twice (same notification id). */
  readonly duplicateNotifyRate?: number;
  /**
   * How the second copy is made. `"resigned"` (the default, as before): built and signed anew,
   * so WeChat and JD Pay / e-CNY copies carry a fresh timestamp, nonce and signature (Alipay a
   * fresh `notify_time`) around the same notification id. `"identical"`: the very bytes of the
   * first attempt (body and every header) are sent again, as a network retry or an attacker
   * replaying a captured request would, so only replay rejection (id / nonce memory) stops it.
   */
  readonly duplicateNotifyMode?: DuplicateNotifyMode;
  /** How long after the first attempt the duplicate is sent (default 100 ms). */
  readonly duplicateNotifyDelayMs?: number;
  /** A notification is held back by `outOfOrderDelayMs`, so later ones overtake it. */
  readonly outOfOrderNotifyRate?: number;
  readonly outOfOrderDelayMs?: number;
  /**
   * On close, the buyer turns out to have paid a moment earlier: the close is refused as
   * "already paid" and the success notification arrives `lateNotifyDelayMs` later.
   */
  readonly lateNotifyAfterCloseRate?: number;
  readonly lateNotifyDelayMs?: number;
  /** A copy of a notification with a broken signature is sent before the genuine one. */
  readonly forgedNotifyRate?: number;
}

/** How a duplicated notification is produced; see {@link ProviderFaults.duplicateNotifyMode}. */
export type DuplicateNotifyMode = "identical" | "resigned";

/** What happens to one API request. */
export type ApiFault =
  | { readonly kind: "none" }
  | { readonly kind: "server_error" }
  | { readonly kind: "timeout"; readonly timeoutMs: number }
  | { readonly kind: "slow"; readonly delayMs: number };

/** What happens to one notification. */
export interface NotifyPlan {
  readonly lost: boolean;
  readonly duplicate: boolean;
  /** How the duplicate (when there is one) is made; default `"resigned"`. */
  readonly duplicateMode?: DuplicateNotifyMode;
  /** Delay of the duplicate after the first attempt; default 100 ms. */
  readonly duplicateDelayMs?: number;
  readonly extraDelayMs: number;
  readonly forged: boolean;
}

/** Draws faults for one provider from its seeded stream. */
export class FaultInjector {
  constructor(
    private readonly faults: ProviderFaults,
    private readonly prng: Prng,
  ) {}

  /** Decides the fate of one API request. */
  apiFault(): ApiFault {
    if (this.prng.chance(this.faults.serverErrorRate ?? 0)) return { kind: "server_error" };
    if (this.prng.chance(this.faults.timeoutRate ?? 0)) return { kind: "timeout", timeoutMs: this.faults.timeoutMs ?? 10_000 };
    if (this.prng.chance(this.faults.slowRate ?? 0)) return { kind: "slow", delayMs: this.faults.slowMs ?? 3_000 };
    return { kind: "none" };
  }

  /** Whether a payment attempt is declined. */
  decline(): boolean {
    return this.prng.chance(this.faults.declineRate ?? 0);
  }

  /** Whether a close races a payment (see {@link ProviderFaults.lateNotifyAfterCloseRate}). */
  lateAfterClose(): { delayMs: number } | undefined {
    return this.prng.chance(this.faults.lateNotifyAfterCloseRate ?? 0)
      ? { delayMs: this.faults.lateNotifyDelayMs ?? 2_000 }
      : undefined;
  }

  /** Decides the fate of one notification. */
  notifyPlan(): NotifyPlan {
    const lost = this.prng.chance(this.faults.lostNotifyRate ?? 0);
    const duplicate = this.prng.chance(this.faults.duplicateNotifyRate ?? 0);
    const outOfOrder = this.prng.chance(this.faults.outOfOrderNotifyRate ?? 0);
    const forged = this.prng.chance(this.faults.forgedNotifyRate ?? 0);
    return {
      lost,
      duplicate,
      duplicateMode: this.faults.duplicateNotifyMode ?? "resigned",
      duplicateDelayMs: this.faults.duplicateNotifyDelayMs ?? 100,
      extraDelayMs: outOfOrder ? (this.faults.outOfOrderDelayMs ?? 1_500) : 0, forged };
  }
}
