import type { Clock } from "./clock.js";
import type { NotifyPlan } from "./faults.js";
import type { Scheduler } from "./scheduler.js";
import type { SandboxProviderName } from "./store.js";

/** One HTTP request a provider sends to the merchant. */
export interface OutgoingRequest {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** A notification to deliver, with the provider's own acknowledgement rule and retry schedule. */
export interface NotificationSpec {
  readonly provider: SandboxProviderName;
  /** What it announces, in the provider's words (TRADE_SUCCESS, TRANSACTION.SUCCESS, …). */
  readonly event: string;
  readonly outTradeNo: string;
  readonly url: string;
  /**
   * The id the merchant de-duplicates on (Alipay `notify_id`, WeChat `id`, JD Pay / e-CNY
   * `eventId`): the same on every attempt and copy of this notification, new for the next one.
   * UnionPay has none (merchants key on `orderId` + `txnTime` / `queryId`).
   */
  readonly notificationId?: string;
  /** Builds the genuine request for attempt `n` (1-based); providers may re-sign per attempt. */
  build(attempt: number): OutgoingRequest;
  /** Builds a copy whose signature does not verify. */
  buildForged(): OutgoingRequest;
  /** Whether the merchant's answer counts as received (Alipay: body `success`; WeChat: 200/204). */
  isAck(status: number, body: string): boolean;
  /** Delay before each attempt, first entry for the first attempt. */
  readonly scheduleMs: readonly number[];
}

/** One attempt, as recorded for tests and the control API. */
export interface DeliveryRecord {
  readonly provider: SandboxProviderName;
  readonly event: string;
  readonly outTradeNo: string;
  readonly attempt: number;
  readonly atMs: number;
  readonly forged: boolean;
  readonly duplicate: boolean;
  /**
   * True when this attempt re-sent the exact bytes (body and headers) of an earlier attempt
   * (`duplicateNotifyMode: "identical"`); false for anything built and signed anew.
   */
  readonly identicalReplay: boolean;
  /** See {@link NotificationSpec.notificationId}; absent for UnionPay. */
  readonly notificationId?: string;
  /** HTTP status, or 0 when the merchant could not be reached. */
  readonly status: number;
  readonly acked: boolean;
}

/**
 * Delivers notifications over HTTP and retries them on the provider's schedule until the
 * merchant acknowledges, applying the fault plan drawn for each (lost, duplicated, delayed,
 * forged). Every attempt is recorded, including whether a forged copy was wrongly accepted.
 */
export class NotificationDispatcher {
  private readonly log: DeliveryRecord[] = [];

  constructor(
    private readonly scheduler: Scheduler,
    private readonly clock: Clock,
    private readonly attemptTimeoutMs = 5_000,
  ) {}

  /** Queues a notification under a fault plan. */
  dispatch(spec: NotificationSpec, plan: NotifyPlan, extraDelayMs = 0): void {
    if (plan.lost) return;
    const startDelay = extraDelayMs + plan.extraDelayMs;
    // The first attempt is built once, so an identical duplicate can re-send its very bytes
    // whichever of the two timers fires first.
    let firstRequest: OutgoingRequest | undefined;
    const first = (): OutgoingRequest => (firstRequest ??= spec.build(1));
    if (plan.forged) {
      this.scheduler.after(startDelay, async () => {
        await this.send(spec, spec.buildForged(), 1, { forged: true, duplicate: false, identicalReplay: false });
      });
    }
    this.scheduleAttempt(spec, 1, startDelay + (plan.forged ? 50 : 0), first);
    if (plan.duplicate) {
      const identical = plan.duplicateMode === "identical";
      this.scheduler.after(startDelay + (plan.duplicateDelayMs ?? 100) + (spec.scheduleMs[0] ?? 0), async () => {
        // A duplicate is one extra copy of the first attempt; only the genuine stream retries.
        await this.send(spec, identical ? first() : spec.build(1), 1, { forged: false, duplicate: true, identicalReplay: identical });
      });
    }
  }

  /** Every attempt so far, oldest first. */
  deliveries(): readonly DeliveryRecord[] {
    return this.log;
  }

  private scheduleAttempt(spec: NotificationSpec, attempt: number, baseDelayMs: number, first: () => OutgoingRequest): void {
    const delay = baseDelayMs + (spec.scheduleMs[attempt - 1] ?? 0);
    this.scheduler.after(delay, async () => {
      const request = attempt === 1 ? first() : spec.build(attempt);
      const acked = await this.send(spec, request, attempt, { forged: false, duplicate: false, identicalReplay: false });
      if (!acked && attempt < spec.scheduleMs.length) {
        this.scheduleAttempt(spec, attempt + 1, 0, first);
      }
    });
  }

  private async send(
    spec: NotificationSpec,
    request: OutgoingRequest,
    attempt: number,
    kind: { readonly forged: boolean; readonly duplicate: boolean; readonly identicalReplay: boolean },
  ): Promise<boolean> {
    let status = 0;
    let body = "";
    try {
      const response = await fetch(spec.url, {
        method: "POST",
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(this.attemptTimeoutMs),
      });
      status = response.status;
      body = await response.text();
    } catch {
      // Unreachable, refused or too slow: the provider treats it as not acknowledged.
      status = 0;
    }
    const acked = status !== 0 && spec.isAck(status, body);
    this.log.push({
      provider: spec.provider,
      event: spec.event,
      outTradeNo: spec.outTradeNo,
      attempt,
      atMs: this.clock.nowMs(),
      ...kind,
      ...(spec.notificationId === undefined ? {} : { notificationId: spec.notificationId }),
      status,
      acked,
    });
    return acked;
  }
}
